/**
 * An HTTP error with its status and any headers its answer needs: thrown by the endpoint and by the
 * sessions behind it (a full server, a session only its own publisher may resume), answered as is.
 */
export class HttpError extends Error {
  constructor(readonly status: number, message: string, readonly headers: Record<string, string> = {}) {
    super(message);
  }
}
