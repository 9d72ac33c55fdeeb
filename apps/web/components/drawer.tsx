'use client';

import { usePathname } from 'next/navigation';
import { createContext, useContext, useEffect, useState, type ReactNode } from 'react';

/** On a phone the chat list is a drawer: this is whether it is open, for the shell and the button that opens it. */
const DrawerContext = createContext<{ open: boolean; setOpen: (open: boolean) => void }>({ open: false, setOpen: () => {} });

export function DrawerProvider({ children }: { children: ReactNode }) {
  const [open, setOpen] = useState(false);
  const pathname = usePathname();
  // Opening a chat (or a new one) closes the drawer.
  useEffect(() => setOpen(false), [pathname]);
  return <DrawerContext.Provider value={{ open, setOpen }}>{children}</DrawerContext.Provider>;
}

export const useDrawer = () => useContext(DrawerContext);

/** The ☰ button of a chat's header (shown on small screens only). */
export function DrawerButton() {
  const { open, setOpen } = useDrawer();
  return (
    <button
      type="button"
      className="drawer-button"
      data-testid="open-drawer"
      aria-label="Chats"
      aria-expanded={open}
      onClick={() => setOpen(!open)}
    >
      <svg viewBox="0 0 16 16" width="18" height="18" aria-hidden>
        <path d="M2 4h12M2 8h12M2 12h12" stroke="currentColor" strokeWidth="1.6" strokeLinecap="round" />
      </svg>
    </button>
  );
}
