/**
 * The fan-out lab's slow upstream as its own process (forked by `stackbench lab fanout`): not in the load generator's
 * process, whose CPU and event loop must measure the load alone. It says its URL once, answers `stats` messages with
 * its counters, and exits when its parent goes (IPC disconnect) or on SIGTERM.
 */
import { startSlowUpstream } from '@stackbench/lab';

const upstream = await startSlowUpstream();
const send = (message: unknown) => process.send?.(message);
send({ url: upstream.url });
process.on('message', (message) => {
  if (message === 'stats') send({ stats: upstream.stats() });
  if (message === 'reset-peak') {
    upstream.resetPeak();
    send({ stats: upstream.stats() });
  }
});
const stop = () => void upstream.close().finally(() => process.exit(0));
process.on('disconnect', stop);
process.on('SIGTERM', stop);
