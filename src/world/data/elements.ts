/**
 * Chemical elements for fact prompts (atomic number, name from symbol). Lead is left out because
 * "lead" is a common English word the oracle would find in unrelated answers.
 */
export interface ElementFact {
  readonly name: string;
  readonly symbol: string;
  readonly number: number;
  readonly aliases?: readonly string[];
}

export const ELEMENTS: readonly ElementFact[] = [
  { name: "Hydrogen", symbol: "H", number: 1 },
  { name: "Helium", symbol: "He", number: 2 },
  { name: "Lithium", symbol: "Li", number: 3 },
  { name: "Beryllium", symbol: "Be", number: 4 },
  { name: "Boron", symbol: "B", number: 5 },
  { name: "Carbon", symbol: "C", number: 6 },
  { name: "Nitrogen", symbol: "N", number: 7 },
  { name: "Oxygen", symbol: "O", number: 8 },
  { name: "Fluorine", symbol: "F", number: 9 },
  { name: "Neon", symbol: "Ne", number: 10 },
  { name: "Sodium", symbol: "Na", number: 11 },
  { name: "Magnesium", symbol: "Mg", number: 12 },
  { name: "Aluminium", symbol: "Al", number: 13, aliases: ["Aluminum"] },
  { name: "Silicon", symbol: "Si", number: 14 },
  { name: "Phosphorus", symbol: "P", number: 15 },
  { name: "Sulfur", symbol: "S", number: 16, aliases: ["Sulphur"] },
  { name: "Chlorine", symbol: "Cl", number: 17 },
  { name: "Argon", symbol: "Ar", number: 18 },
  { name: "Potassium", symbol: "K", number: 19 },
  { name: "Calcium", symbol: "Ca", number: 20 },
  { name: "Titanium", symbol: "Ti", number: 22 },
  { name: "Chromium", symbol: "Cr", number: 24 },
  { name: "Manganese", symbol: "Mn", number: 25 },
  { name: "Iron", symbol: "Fe", number: 26 },
  { name: "Cobalt", symbol: "Co", number: 27 },
  { name: "Nickel", symbol: "Ni", number: 28 },
  { name: "Copper", symbol: "Cu", number: 29 },
  { name: "Zinc", symbol: "Zn", number: 30 },
  { name: "Arsenic", symbol: "As", number: 33 },
  { name: "Bromine", symbol: "Br", number: 35 },
  { name: "Krypton", symbol: "Kr", number: 36 },
  { name: "Silver", symbol: "Ag", number: 47 },
  { name: "Tin", symbol: "Sn", number: 50 },
  { name: "Iodine", symbol: "I", number: 53 },
  { name: "Xenon", symbol: "Xe", number: 54 },
  { name: "Tungsten", symbol: "W", number: 74 },
  { name: "Platinum", symbol: "Pt", number: 78 },
  { name: "Gold", symbol: "Au", number: 79 },
  { name: "Mercury", symbol: "Hg", number: 80 },
  { name: "Uranium", symbol: "U", number: 92 },
];
