/**
 * A stream URL fit to print: the RTMP stream key (everything after the app), every query value and any
 * password become `****` (`rtmp://host/app/****`). Results, errors, logs and the CLI show URLs only
 * this way; the real URL is used for connecting and nowhere else.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // Not a URL: nothing can be told apart from a secret.
    return '****';
  }
  if (u.password !== '') u.password = '****';
  if (u.protocol === 'rtmp:' || u.protocol === 'rtmps:') {
    const [app, ...key] = u.pathname.split('/').filter((p) => p !== '');
    u.pathname = `/${[app ?? '', ...(key.length > 0 ? ['****'] : [])].join('/')}`;
  }
  for (const k of [...u.searchParams.keys()]) u.searchParams.set(k, '****');
  // URL encodes the asterisks in the query; they are shown as written.
  return u.toString().replace(/%2A/g, '*');
}
