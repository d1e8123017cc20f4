#!/usr/bin/env node
// The gateway's entry point. libuv sizes its thread pool on first use, so this has to happen before
// any module that might use it loads: file writes, fsyncs of parts flushed in the background and
// LMDB flushes all share that pool, and with libuv's default of 4 threads a few long fsyncs stall
// every other file operation behind them.
process.env.UV_THREADPOOL_SIZE ??= '16';
await import('./cli.js');
