// ioredis's multi() and pipeline() against a running server, printed so that a run
// against Bucket can be compared line by line with one against Redis 7:
//
//   npm install ioredis@5 && node driver-mio/tests/clients/ioredis_multi.js PORT
//
// Not part of `cargo test` (it needs Node and npm).
const Redis = require('ioredis');
const r = new Redis({ port: +process.argv[2] });
(async () => {
  await r.del('a', 'l', 'h');
  const res = await r.multi().set('a', '1').incr('a').rpush('l', 'x', 'y').hset('h', 'f', 'v').lrange('l', 0, -1).exec();
  console.log('multi', JSON.stringify(res));
  try {
    await r.multi().set('a', '5').call('get').exec(); // wrong arity inside MULTI
    console.log('no error?!');
  } catch (e) { console.log('aborted:', e.message, e.previousErrors ? e.previousErrors.map(x => x.message) : ''); }
  console.log('a after abort', await r.get('a'));
  await r.watch('a');
  const other = new Redis({ port: +process.argv[2] });
  await other.set('a', 'changed');
  const w = await r.multi().set('a', 'mine').exec();
  console.log('watch-invalidated exec', JSON.stringify(w), await r.get('a'));
  const p = await r.pipeline().set('b', '2').get('b').exec();
  console.log('pipeline', JSON.stringify(p));
  other.disconnect(); r.disconnect();
})().catch(e => { console.error('ERR', e); process.exit(1); });
