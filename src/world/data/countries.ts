/**
 * The fact table: countries with their capital and continent. Names are ASCII (the oracle folds
 * diacritics, so "Bogotá" matches "Bogota"). Countries were left out on purpose when their
 * capital's name contains the country's (Mexico City, Kuwait City), when the capital is disputed
 * or split (South Africa, Bolivia), when they straddle continents (Russia, Turkey), or when a
 * name is an English word the oracle would trip on (Male, Maldives).
 */
export interface CountryFact {
  readonly country: string;
  readonly capital: string;
  readonly continent: Continent;
  readonly country_aliases?: readonly string[];
  readonly capital_aliases?: readonly string[];
}

export type Continent =
  | "Africa"
  | "Asia"
  | "Europe"
  | "North America"
  | "South America"
  | "Oceania";
export const CONTINENTS: readonly Continent[] = [
  "Africa",
  "Asia",
  "Europe",
  "North America",
  "South America",
  "Oceania",
];

const AF: Continent = "Africa";
const AS: Continent = "Asia";
const EU: Continent = "Europe";
const NA: Continent = "North America";
const SA: Continent = "South America";
const OC: Continent = "Oceania";

export const COUNTRIES: readonly CountryFact[] = [
  { country: "Egypt", capital: "Cairo", continent: AF },
  { country: "Kenya", capital: "Nairobi", continent: AF },
  { country: "Nigeria", capital: "Abuja", continent: AF },
  { country: "Ghana", capital: "Accra", continent: AF },
  { country: "Ethiopia", capital: "Addis Ababa", continent: AF },
  { country: "Morocco", capital: "Rabat", continent: AF },
  { country: "Algeria", capital: "Algiers", continent: AF },
  { country: "Tunisia", capital: "Tunis", continent: AF },
  { country: "Senegal", capital: "Dakar", continent: AF },
  { country: "Uganda", capital: "Kampala", continent: AF },
  { country: "Rwanda", capital: "Kigali", continent: AF },
  { country: "Zambia", capital: "Lusaka", continent: AF },
  { country: "Zimbabwe", capital: "Harare", continent: AF },
  { country: "Angola", capital: "Luanda", continent: AF },
  { country: "Mozambique", capital: "Maputo", continent: AF },
  { country: "Madagascar", capital: "Antananarivo", continent: AF },
  { country: "Cameroon", capital: "Yaounde", continent: AF },
  { country: "Mali", capital: "Bamako", continent: AF },
  { country: "Niger", capital: "Niamey", continent: AF },
  { country: "Namibia", capital: "Windhoek", continent: AF },
  { country: "Botswana", capital: "Gaborone", continent: AF },
  { country: "Libya", capital: "Tripoli", continent: AF },
  { country: "Sudan", capital: "Khartoum", continent: AF },
  { country: "Somalia", capital: "Mogadishu", continent: AF },
  { country: "Malawi", capital: "Lilongwe", continent: AF },
  { country: "Burkina Faso", capital: "Ouagadougou", continent: AF },
  { country: "Togo", capital: "Lome", continent: AF },
  { country: "Gabon", capital: "Libreville", continent: AF },
  { country: "Eritrea", capital: "Asmara", continent: AF },
  { country: "Mauritania", capital: "Nouakchott", continent: AF },
  { country: "Liberia", capital: "Monrovia", continent: AF },
  { country: "Sierra Leone", capital: "Freetown", continent: AF },
  { country: "Lesotho", capital: "Maseru", continent: AF },
  { country: "Gambia", capital: "Banjul", continent: AF },
  { country: "Mauritius", capital: "Port Louis", continent: AF },
  { country: "Japan", capital: "Tokyo", continent: AS },
  { country: "China", capital: "Beijing", continent: AS, capital_aliases: ["Peking"] },
  { country: "India", capital: "New Delhi", continent: AS },
  { country: "South Korea", capital: "Seoul", continent: AS },
  { country: "Thailand", capital: "Bangkok", continent: AS },
  { country: "Vietnam", capital: "Hanoi", continent: AS, country_aliases: ["Viet Nam"] },
  { country: "Philippines", capital: "Manila", continent: AS },
  { country: "Pakistan", capital: "Islamabad", continent: AS },
  { country: "Bangladesh", capital: "Dhaka", continent: AS },
  { country: "Nepal", capital: "Kathmandu", continent: AS },
  { country: "Afghanistan", capital: "Kabul", continent: AS },
  { country: "Iran", capital: "Tehran", continent: AS },
  { country: "Iraq", capital: "Baghdad", continent: AS },
  { country: "Saudi Arabia", capital: "Riyadh", continent: AS },
  { country: "Jordan", capital: "Amman", continent: AS },
  { country: "Syria", capital: "Damascus", continent: AS },
  { country: "Lebanon", capital: "Beirut", continent: AS },
  { country: "Qatar", capital: "Doha", continent: AS },
  { country: "Oman", capital: "Muscat", continent: AS },
  { country: "Yemen", capital: "Sanaa", continent: AS },
  { country: "Mongolia", capital: "Ulaanbaatar", continent: AS, capital_aliases: ["Ulan Bator"] },
  { country: "Laos", capital: "Vientiane", continent: AS },
  { country: "Cambodia", capital: "Phnom Penh", continent: AS },
  { country: "Uzbekistan", capital: "Tashkent", continent: AS },
  { country: "Kyrgyzstan", capital: "Bishkek", continent: AS },
  { country: "Tajikistan", capital: "Dushanbe", continent: AS },
  { country: "Turkmenistan", capital: "Ashgabat", continent: AS },
  { country: "Bhutan", capital: "Thimphu", continent: AS },
  { country: "Bahrain", capital: "Manama", continent: AS },
  {
    country: "United Arab Emirates",
    capital: "Abu Dhabi",
    continent: AS,
    country_aliases: ["UAE"],
  },
  { country: "Brunei", capital: "Bandar Seri Begawan", continent: AS },
  { country: "France", capital: "Paris", continent: EU },
  { country: "Germany", capital: "Berlin", continent: EU },
  { country: "Italy", capital: "Rome", continent: EU },
  { country: "Spain", capital: "Madrid", continent: EU },
  { country: "Portugal", capital: "Lisbon", continent: EU },
  {
    country: "United Kingdom",
    capital: "London",
    continent: EU,
    country_aliases: ["UK", "Britain", "Great Britain"],
  },
  { country: "Ireland", capital: "Dublin", continent: EU },
  { country: "Belgium", capital: "Brussels", continent: EU },
  { country: "Austria", capital: "Vienna", continent: EU },
  { country: "Switzerland", capital: "Bern", continent: EU, capital_aliases: ["Berne"] },
  { country: "Poland", capital: "Warsaw", continent: EU },
  { country: "Czechia", capital: "Prague", continent: EU, country_aliases: ["Czech Republic"] },
  { country: "Slovakia", capital: "Bratislava", continent: EU },
  { country: "Hungary", capital: "Budapest", continent: EU },
  { country: "Romania", capital: "Bucharest", continent: EU },
  { country: "Bulgaria", capital: "Sofia", continent: EU },
  { country: "Greece", capital: "Athens", continent: EU },
  { country: "Serbia", capital: "Belgrade", continent: EU },
  { country: "Croatia", capital: "Zagreb", continent: EU },
  { country: "Slovenia", capital: "Ljubljana", continent: EU },
  { country: "Albania", capital: "Tirana", continent: EU },
  { country: "Norway", capital: "Oslo", continent: EU },
  { country: "Sweden", capital: "Stockholm", continent: EU },
  { country: "Finland", capital: "Helsinki", continent: EU },
  { country: "Denmark", capital: "Copenhagen", continent: EU },
  { country: "Iceland", capital: "Reykjavik", continent: EU },
  { country: "Estonia", capital: "Tallinn", continent: EU },
  { country: "Latvia", capital: "Riga", continent: EU },
  { country: "Lithuania", capital: "Vilnius", continent: EU },
  { country: "Ukraine", capital: "Kyiv", continent: EU, capital_aliases: ["Kiev"] },
  { country: "Belarus", capital: "Minsk", continent: EU },
  { country: "Moldova", capital: "Chisinau", continent: EU },
  { country: "Montenegro", capital: "Podgorica", continent: EU },
  {
    country: "Bosnia and Herzegovina",
    capital: "Sarajevo",
    continent: EU,
    country_aliases: ["Bosnia"],
  },
  { country: "Netherlands", capital: "Amsterdam", continent: EU, country_aliases: ["Holland"] },
  { country: "Malta", capital: "Valletta", continent: EU },
  {
    country: "United States",
    capital: "Washington, D.C.",
    continent: NA,
    country_aliases: ["USA", "United States of America"],
    capital_aliases: ["Washington", "Washington DC", "Washington D.C."],
  },
  { country: "Canada", capital: "Ottawa", continent: NA },
  { country: "Cuba", capital: "Havana", continent: NA },
  { country: "Jamaica", capital: "Kingston", continent: NA },
  { country: "Haiti", capital: "Port-au-Prince", continent: NA },
  { country: "Honduras", capital: "Tegucigalpa", continent: NA },
  { country: "Nicaragua", capital: "Managua", continent: NA },
  { country: "Costa Rica", capital: "San Jose", continent: NA },
  { country: "El Salvador", capital: "San Salvador", continent: NA },
  { country: "Bahamas", capital: "Nassau", continent: NA },
  { country: "Barbados", capital: "Bridgetown", continent: NA },
  { country: "Belize", capital: "Belmopan", continent: NA },
  { country: "Trinidad and Tobago", capital: "Port of Spain", continent: NA },
  { country: "Brazil", capital: "Brasilia", continent: SA },
  { country: "Argentina", capital: "Buenos Aires", continent: SA },
  { country: "Chile", capital: "Santiago", continent: SA },
  { country: "Peru", capital: "Lima", continent: SA },
  { country: "Colombia", capital: "Bogota", continent: SA },
  { country: "Venezuela", capital: "Caracas", continent: SA },
  { country: "Ecuador", capital: "Quito", continent: SA },
  { country: "Uruguay", capital: "Montevideo", continent: SA },
  { country: "Paraguay", capital: "Asuncion", continent: SA },
  { country: "Guyana", capital: "Georgetown", continent: SA },
  { country: "Suriname", capital: "Paramaribo", continent: SA },
  { country: "Australia", capital: "Canberra", continent: OC },
  { country: "New Zealand", capital: "Wellington", continent: OC },
  { country: "Fiji", capital: "Suva", continent: OC },
  { country: "Papua New Guinea", capital: "Port Moresby", continent: OC },
  { country: "Samoa", capital: "Apia", continent: OC },
  { country: "Vanuatu", capital: "Port Vila", continent: OC },
];
