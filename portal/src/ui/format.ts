// Display helpers shared by pages.

export const formatTime = (seconds: number | undefined) => (seconds === undefined ? '' : new Date(seconds * 1000).toLocaleString());

/** Value for an <input type="datetime-local" step="1"> from Unix seconds, in local time, to the second (Key Vault's resolution). */
export function toLocalInput(seconds: number | undefined): string {
  if (seconds === undefined) return '';
  const d = new Date(seconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export const fromLocalInput = (value: string): number | undefined => (value ? Math.floor(new Date(value).getTime() / 1000) : undefined);

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
