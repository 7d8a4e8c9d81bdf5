/**
 * A modal dialog: drawn over the page (a portal into <body>), which is inert while it is open,
 * so Tab stays within the dialog and a screen reader reads only the dialog. On closing, the
 * focus goes back to where it was (the button that opened it, or the choice that found the
 * session ended) if that is still on the page.
 */
import { type ReactNode, useEffect, useState } from "react";
import { createPortal } from "react-dom";

let open = 0;

/** True while a modal dialog is open: the page's keyboard shortcuts are off. */
export function modalOpen(): boolean {
  return open > 0;
}

export function Modal({ labelledBy, children }: { labelledBy: string; children: ReactNode }) {
  // Read while rendering: by the time effects run, a field in the dialog may have taken focus.
  const [before] = useState(() =>
    document.activeElement instanceof HTMLElement ? document.activeElement : null,
  );
  useEffect(() => {
    const root = document.getElementById("root");
    open++;
    if (root) root.inert = true;
    return () => {
      open--;
      // After the commit: a dialog that is only remounted (StrictMode's check in development)
      // has counted itself in again by then, and the page stays inert, the focus in the dialog.
      queueMicrotask(() => {
        if (root && open === 0) root.inert = false;
        if (before?.isConnected && !before.closest("[inert]")) before.focus();
      });
    };
  }, [before]);
  return createPortal(
    <div className="dialog" role="dialog" aria-modal="true" aria-labelledby={labelledBy}>
      {children}
    </div>,
    document.body,
  );
}
