/** Light or dark mode: `data-theme` on <html>; the user's choice in localStorage, else the system's. */
export type Theme = 'light' | 'dark';
export const THEME_KEY = 'chat.theme';

/** Runs before the first paint (inline in <head>): the saved choice, else the system's. */
export const THEME_SCRIPT = `try{var t=localStorage.getItem('${THEME_KEY}');if(t!=='dark'&&t!=='light')t=matchMedia('(prefers-color-scheme: dark)').matches?'dark':'light';document.documentElement.dataset.theme=t}catch(e){}`;
