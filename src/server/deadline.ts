/**
 * `p`, or the error `late()` makes once `ms` have passed: a bound on an answer someone else owes
 * (ICE gathering, a worker thread). `p` is still settled by whoever made it.
 */
export function withDeadline<T>(p: Promise<T>, ms: number, late: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}
