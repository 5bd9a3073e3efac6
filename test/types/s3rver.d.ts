/** The little of s3rver (an S3 API server for tests; it ships no types) that the tests use. */
declare module 's3rver' {
  export default class S3rver {
    constructor(options: { port?: number; address?: string; silent?: boolean; directory: string });
    run(): Promise<{ port: number; address: string }>;
    close(): Promise<void>;
    /** S3 event notifications: `event` with `{ Records: [{ eventName, s3: { object: { key } } }] }`. */
    on(event: 'event', listener: (e: { Records: { eventName: string; s3: { object: { key: string } } }[] }) => void): this;
  }
}
