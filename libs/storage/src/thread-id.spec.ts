import { currentThreadId, tidOfThreadSelf } from './thread-id';

describe('tidOfThreadSelf', () => {
  it('takes the thread id from a /proc/thread-self link, and nothing else', () => {
    expect(tidOfThreadSelf('1234/task/1240')).toBe(1240);
    expect(tidOfThreadSelf('1234')).toBeUndefined();
    expect(tidOfThreadSelf('1234/task/')).toBeUndefined();
    expect(tidOfThreadSelf('/proc/1234/task/1240')).toBeUndefined();
  });
});

describe('currentThreadId', () => {
  it("is the main thread's id, the process id, on Linux", () => {
    if (process.platform !== 'linux') expect(currentThreadId()).toBeUndefined();
    else expect(currentThreadId()).toBe(process.pid);
  });
});
