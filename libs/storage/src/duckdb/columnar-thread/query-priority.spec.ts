import { threadpoolSize, tidOfThreadSelf } from './query-priority';

describe('threadpoolSize', () => {
  it('reads UV_THREADPOOL_SIZE as libuv does: default 4, at least 1, at most 1024', () => {
    expect(threadpoolSize({})).toBe(4);
    expect(threadpoolSize({ UV_THREADPOOL_SIZE: '' })).toBe(4);
    expect(threadpoolSize({ UV_THREADPOOL_SIZE: '8' })).toBe(8);
    expect(threadpoolSize({ UV_THREADPOOL_SIZE: '0' })).toBe(1);
    expect(threadpoolSize({ UV_THREADPOOL_SIZE: 'many' })).toBe(1);
    expect(threadpoolSize({ UV_THREADPOOL_SIZE: '5000' })).toBe(1024);
  });
});

describe('tidOfThreadSelf', () => {
  it('takes the thread id from a /proc/thread-self link, and nothing else', () => {
    expect(tidOfThreadSelf('1234/task/1240')).toBe(1240);
    expect(tidOfThreadSelf('1234')).toBeUndefined();
    expect(tidOfThreadSelf('1234/task/')).toBeUndefined();
    expect(tidOfThreadSelf('/proc/1234/task/1240')).toBeUndefined();
  });
});
