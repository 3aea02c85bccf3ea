import { threadCpu, threadCpuSeconds, watchThreadCpu } from './thread-cpu';

async function series(): Promise<Map<string, number>> {
  const { values } = await threadCpu.get();
  return new Map(values.map((v) => [String(v.labels.thread), v.value]));
}

function burn(ms: number): void {
  const until = Date.now() + ms;
  let x = 0;
  while (Date.now() < until) x += Math.sqrt(x + 1);
  expect(x).toBeGreaterThan(0);
}

const linux = process.platform === 'linux';

describe('thread CPU metric', () => {
  it("reads a thread's user + system time from /proc, and nothing for a thread that is gone", () => {
    if (!linux) return expect(threadCpuSeconds(process.pid)).toBeUndefined();
    const before = threadCpuSeconds(process.pid)!;
    burn(150);
    const after = threadCpuSeconds(process.pid)!;
    // 10 ms ticks: 150 ms of spinning shows as at least 0.1 s.
    expect(after - before).toBeGreaterThanOrEqual(0.1);
    expect(threadCpuSeconds(2 ** 31 - 1)).toBeUndefined();
  });

  it('reports each watched thread under its name until it is unwatched, and skips one without an id', async () => {
    const unwatchMain = watchThreadCpu('main', () => process.pid);
    const unwatchIdle = watchThreadCpu('sqlite_writer', () => undefined);
    try {
      const first = await series();
      if (!linux) return expect(first.size).toBe(0);
      expect([...first.keys()]).toEqual(['main']);
      burn(120);
      const second = await series();
      expect(second.get('main')! - first.get('main')!).toBeGreaterThanOrEqual(0.08);
    } finally {
      unwatchMain();
      unwatchIdle();
    }
    expect((await series()).size).toBe(0);
  });
});
