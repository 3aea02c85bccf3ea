import { CircuitBreaker } from './circuit-breaker';

describe('CircuitBreaker', () => {
  let clock = 0;
  const make = (failureThreshold = 2) =>
    new CircuitBreaker({ failureThreshold, coolDownMs: 1000, now: () => clock });
  beforeEach(() => (clock = 0));

  it('opens after the threshold of consecutive failures and refuses calls', () => {
    const breaker = make(2);
    breaker.onFailure();
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
    breaker.onFailure();
    expect(breaker.state).toBe('open');
    expect(breaker.isAvailable()).toBe(false);
    expect(breaker.tryAcquire()).toBe(false);
  });

  it('a success resets the consecutive failure count', () => {
    const breaker = make(2);
    breaker.onFailure();
    breaker.onSuccess();
    breaker.onFailure();
    expect(breaker.state).toBe('closed');
  });

  it('lets exactly one probe through after the cool-down; success closes it', () => {
    const breaker = make(1);
    breaker.onFailure();
    clock = 999;
    expect(breaker.tryAcquire()).toBe(false);
    clock = 1000;
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.isAvailable()).toBe(false);
    breaker.onSuccess();
    expect(breaker.state).toBe('closed');
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('a failed probe re-opens it for another full cool-down', () => {
    const breaker = make(3);
    breaker.onFailure();
    breaker.onFailure();
    breaker.onFailure();
    clock = 1500;
    expect(breaker.tryAcquire()).toBe(true);
    breaker.onFailure();
    expect(breaker.state).toBe('open');
    clock = 2400;
    expect(breaker.tryAcquire()).toBe(false);
    clock = 2500;
    expect(breaker.tryAcquire()).toBe(true);
  });
});
