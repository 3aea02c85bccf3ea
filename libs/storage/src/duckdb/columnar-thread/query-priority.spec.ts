import { threadpoolSize } from './query-priority';

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
