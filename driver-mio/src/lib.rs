//! `bucket-server`: the Bucket daemon. It maps the core's inputs and outputs onto
//! sockets and files with mio, and holds no cluster logic of its own.

pub mod log;

pub mod aof_files;
pub mod config;
pub mod connection;
pub mod dir_lock;
pub mod event_loop;
pub mod files;
pub mod fsio;
pub mod manifest;
pub mod memory;
pub mod peer_admission;
pub mod peer_codec;
pub mod peers;
pub mod prealloc;
pub mod signals;
pub mod syncer;
