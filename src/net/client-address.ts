// A client's address as a dual-stack socket reports it: an IPv4 client shows
// as an IPv4-mapped IPv6 address (::ffff:203.0.113.9), which every check of
// addresses must read as the IPv4 address it is.

/** The IPv4 address inside an IPv4-mapped IPv6 address; any other address as it is. */
export function unmapped(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1]! : address;
}
