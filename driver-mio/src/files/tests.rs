use super::*;
use crate::fsio::{file_names, test_dir};
use crate::manifest::{self, LEGACY_AOF_FILE_NAME};
use bucket_core::aof::base::{self, BaseHeader};
use bucket_core::aof::record::{self, Effect, Record};
use bucket_core::meta::Reign;
use bucket_core::{MasterId, Term, UnixMillis};

const TERM: Term = Term(1);

fn config() -> Config {
    Config::single("127.0.0.1:1", "127.0.0.1:2")
}

/// AOF records: a reign start if `reign`, then a SET per key.
fn records(reign: bool, pairs: &[(&str, &str)]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let reign_start = Effect::ReignStart {
        master_id: MasterId(7),
    };
    let sets = pairs.iter().map(|(key, value)| Effect::Set {
        key: key.as_bytes(),
        value: value.as_bytes(),
        expire_at: None,
    });
    for effect in reign.then_some(reign_start).into_iter().chain(sets) {
        record::encode(&Record { term: TERM, effect }, &mut bytes);
    }
    bytes
}

/// A whole base at `offset` holding `pairs`, after a reign that started at zero.
fn base_bytes(offset: u64, pairs: &[(&str, &str)]) -> Vec<u8> {
    let header = BaseHeader {
        offset: Offset(offset),
        last_term: TERM,
        reigns: vec![Reign {
            master_id: MasterId(7),
            term: TERM,
            start: Offset(0),
        }],
    };
    let mut out = Vec::new();
    base::encode_start(&header, &mut out);
    let mut entries = Vec::new();
    for (key, value) in pairs {
        let value = bucket_core::keyspace::Value::str(value.as_bytes());
        base::encode_entry(key.as_bytes(), value.as_ref(), None, &mut entries);
    }
    base::encode_entries(pairs.len() as u32, &entries, &mut out);
    base::encode_end(pairs.len() as u64, &mut out);
    out
}

/// Appends and writes, as one loop pass does.
fn append(dir: &mut DataDir, bytes: &[u8]) {
    dir.append(dir.aof_end(), bytes);
    dir.end_pass(0).unwrap();
}

fn value(node: &Node, key: &str) -> Option<String> {
    let entry = node.keyspace().get(key.as_bytes(), UnixMillis(1));
    entry.map(|e| String::from_utf8(e.as_str().unwrap().to_vec()).unwrap())
}

/// The whole logical AOF after the base: what recovery would be handed.
fn tail_bytes(dir: &DataDir) -> Vec<u8> {
    dir.aof().read_for_recovery().unwrap().1
}

#[test]
fn append_write_truncate_read() {
    let path = test_dir("aof");
    let mut dir = DataDir::open(&path, AppendFsync::Always).unwrap();
    dir.append(Offset(0), b"hello ");
    dir.append(Offset(6), b"world");
    assert_eq!(dir.aof_end(), Offset(11));
    dir.end_pass(0).unwrap();
    let mut buf = [0u8; 5];
    assert_eq!(dir.read_at(Offset(6), &mut buf).unwrap(), 5);
    assert_eq!(&buf, b"world");
    dir.truncate(Offset(5)).unwrap();
    dir.append(Offset(5), b"!");
    dir.sync_now().unwrap();
    assert_eq!(tail_bytes(&dir), b"hello!");
    drop(dir); // Its lock on the directory goes with it.
    let reopened = DataDir::open(&path, AppendFsync::No).unwrap();
    assert_eq!(reopened.aof_end(), Offset(6));
    assert_eq!(tail_bytes(&reopened), b"hello!");
}

#[test]
fn read_at_sees_pending_bytes() {
    let path = test_dir("pending");
    let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
    dir.append(Offset(0), b"abc");
    let mut buf = [0u8; 8];
    assert_eq!(dir.read_at(Offset(1), &mut buf).unwrap(), 2);
    assert_eq!(&buf[..2], b"bc");
}

#[test]
#[should_panic(expected = "AppendAof must start at the AOF's end")]
fn append_at_the_wrong_offset_panics() {
    let path = test_dir("wrong-offset");
    let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
    dir.append(Offset(3), b"x");
}

#[test]
fn meta_is_replaced_atomically() {
    let path = test_dir("meta");
    let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
    assert_eq!(dir.read_meta().unwrap(), None);
    dir.persist_meta(b"one").unwrap();
    dir.persist_meta(b"two").unwrap();
    assert_eq!(dir.read_meta().unwrap().as_deref(), Some(&b"two"[..]));
    assert!(!path.join(META_TMP_FILE_NAME).exists());
}

#[test]
fn a_failed_background_sync_stays_fatal() {
    let path = test_dir("everysec-failure");
    let dir = DataDir::open(&path, AppendFsync::Everysec).unwrap();
    dir.check_background().unwrap();
    // Every later check fails: a retried fsync that succeeds proves nothing.
    let everysec = dir.everysec.as_ref().unwrap();
    everysec
        .thread
        .record_failure("Input/output error (os error 5)");
    for _ in 0..2 {
        let error = dir.check_background().unwrap_err();
        assert!(
            error.to_string().contains("background fsync failed"),
            "{error}"
        );
    }
}

/// Waits, bounded, until `done` holds.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..500 {
        if done() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{what} did not happen within 5 s");
}

#[test]
fn everysec_signals_at_most_once_a_second() {
    let path = test_dir("everysec");
    let mut dir = DataDir::open(&path, AppendFsync::Everysec).unwrap();
    assert_eq!(dir.sync_deadline_ms(), None);
    dir.append(Offset(0), b"a");
    dir.end_pass(5_000).unwrap();
    assert_eq!(
        dir.sync_deadline_ms(),
        None,
        "signalled at once: nothing waits"
    );
    dir.append(Offset(1), b"b");
    dir.end_pass(5_100).unwrap();
    assert_eq!(dir.sync_deadline_ms(), Some(6_000));
    // Let the background sync finish, then the due one goes out.
    wait_until("the background sync", || {
        !dir.everysec.as_ref().unwrap().thread.is_busy()
    });
    dir.end_pass(6_000).unwrap();
    assert_eq!(dir.sync_deadline_ms(), None);
    dir.check_background().unwrap();
}

/// The durability thread reports what its fsync covered in the file it was handed,
/// and after a rotation it syncs the new tail file.
#[test]
fn the_fsync_thread_follows_the_current_tail_file() {
    let path = test_dir("syncer-rotation");
    let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
    let poll = mio::Poll::new().unwrap();
    let waker = mio::Waker::new(poll.registry(), mio::Token(0)).unwrap();
    dir.start_syncer(std::sync::Arc::new(waker)).unwrap();
    let first = records(true, &[("a", "1")]);
    dir.append(Offset(0), &first);
    dir.request_sync();
    dir.end_pass(0).unwrap();
    // The fsync of the first tail file may still run while the rotation happens.
    dir.begin_base(dir.aof_end(), BaseKind::Rewrite).unwrap();
    let second = records(false, &[("b", "2")]);
    let end = first.len() as u64 + second.len() as u64;
    dir.append(dir.aof_end(), &second);
    let mut durable = None;
    wait_until("the first fsync's report", || {
        durable = dir.take_durable().unwrap();
        durable.is_some()
    });
    assert_eq!(durable, Some(Offset(first.len() as u64)));
    dir.request_sync();
    dir.end_pass(0).unwrap();
    wait_until("the second fsync's report", || {
        durable = dir.take_durable().unwrap();
        durable.is_some()
    });
    assert_eq!(durable, Some(Offset(end)));
}

/// A crash after a rotation and part of a base (no `FinishBase`) recovers the same
/// logical AOF from the two tail files, and the temporary base is deleted.
#[test]
fn a_crash_mid_rewrite_recovers_the_same_aof() {
    let path = test_dir("rotation-crash");
    let first = records(true, &[("a", "1"), ("b", "2")]);
    let second = records(false, &[("a", "3")]);
    {
        let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
        append(&mut dir, &first);
        dir.begin_base(dir.aof_end(), BaseKind::Rewrite).unwrap();
        dir.write_base(&base_bytes(first.len() as u64, &[("a", "1")])[..20])
            .unwrap();
        append(&mut dir, &second);
        // Dropped without FinishBase: the crash.
    }
    assert!(file_names(&path).iter().any(|n| n.ends_with(".base.tmp")));
    let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
    assert!(!file_names(&path).iter().any(|n| n.contains(".base")));
    assert_eq!(tail_bytes(&dir), [&first[..], &second[..]].concat());
    let (node, recovery) = recover(config(), 1, &mut dir).unwrap();
    assert_eq!(recovery.aof_len_valid, (first.len() + second.len()) as u64);
    assert_eq!(recovery.records, 4);
    assert_eq!(value(&node, "a").as_deref(), Some("3"));
    assert_eq!(value(&node, "b").as_deref(), Some("2"));
}

/// After `FinishBase` the directory holds the base and the tail from its offset; a
/// restart recovers from both, and a torn record at the end is cut from the last tail.
#[test]
fn a_finished_base_recovers_with_its_tail() {
    let path = test_dir("finish-base");
    let first = records(true, &[("a", "1"), ("b", "2")]);
    let second = records(false, &[("c", "3")]);
    let offset = first.len() as u64;
    let base = base_bytes(offset, &[("a", "1"), ("b", "2")]);
    {
        let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
        append(&mut dir, &first);
        dir.begin_base(Offset(offset), BaseKind::Rewrite).unwrap();
        append(&mut dir, &second);
        let (head, rest) = base.split_at(7);
        dir.write_base(head).unwrap();
        dir.write_base(rest).unwrap();
        dir.finish_base().unwrap();
        assert_eq!(dir.aof().base_offset(), offset);
        dir.append(dir.aof_end(), &records(false, &[("torn", "x")])[..9]);
        dir.end_pass(0).unwrap();
    }
    let manifest = manifest::read(&path).unwrap().unwrap();
    assert_eq!(manifest.base.as_ref().unwrap().offset, offset);
    assert_eq!(manifest.tails.len(), 1);
    let mut names: Vec<String> = manifest.names().map(str::to_string).collect();
    names.push(manifest::MANIFEST_FILE_NAME.to_string());
    names.push(crate::dir_lock::LOCK_FILE_NAME.to_string());
    names.sort();
    assert_eq!(file_names(&path), names, "the first tail file is gone");
    let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
    let (node, recovery) = recover(config(), 1, &mut dir).unwrap();
    assert_eq!(recovery.aof_len_valid, offset + second.len() as u64);
    assert_eq!(recovery.torn_bytes, 9);
    assert_eq!(dir.aof_end(), Offset(recovery.aof_len_valid));
    assert_eq!(node.aof_end(), Offset(recovery.aof_len_valid));
    for (key, want) in [("a", "1"), ("b", "2"), ("c", "3")] {
        assert_eq!(value(&node, key).as_deref(), Some(want), "{key}");
    }
}

/// A base from the master replaces base and tail: the AOF is that base and a new
/// empty tail from its offset, which takes the appends after it.
#[test]
fn a_base_from_the_master_replaces_everything() {
    let path = test_dir("from-master");
    let offset = 10_000;
    let later = records(false, &[("new", "2")]);
    {
        let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
        append(&mut dir, &records(true, &[("old", "1")]));
        let old_tail = dir.aof().current_path();
        dir.begin_base(Offset(offset), BaseKind::FromMaster)
            .unwrap();
        dir.write_base(&base_bytes(offset, &[("kept", "1")]))
            .unwrap();
        dir.finish_base().unwrap();
        assert!(!old_tail.exists());
        assert_eq!(dir.aof_end(), Offset(offset));
        append(&mut dir, &later);
    }
    let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
    let (node, recovery) = recover(config(), 1, &mut dir).unwrap();
    assert_eq!(recovery.aof_len_valid, offset + later.len() as u64);
    assert_eq!(value(&node, "old"), None);
    assert_eq!(value(&node, "kept").as_deref(), Some("1"));
    assert_eq!(value(&node, "new").as_deref(), Some("2"));
}

/// A data directory at `path` holding one record, compacted into a base at its end;
/// returns it and the base's offset.
fn dir_with_a_base(path: &Path) -> (DataDir, u64) {
    let first = records(true, &[("a", "1")]);
    let mut dir = DataDir::open(path, AppendFsync::No).unwrap();
    append(&mut dir, &first);
    let offset = first.len() as u64;
    dir.begin_base(Offset(offset), BaseKind::Rewrite).unwrap();
    dir.write_base(&base_bytes(offset, &[("a", "1")])).unwrap();
    dir.finish_base().unwrap();
    (dir, offset)
}

#[test]
fn truncation_to_zero_drops_the_base() {
    let path = test_dir("truncate-zero");
    let (mut dir, _) = dir_with_a_base(&path);
    append(&mut dir, &records(false, &[("b", "2")]));
    dir.truncate(Offset(0)).unwrap();
    assert_eq!(dir.aof_end(), Offset(0));
    let again = records(true, &[("c", "3")]);
    append(&mut dir, &again);
    drop(dir);
    assert!(!file_names(&path).iter().any(|n| n.ends_with(".base")));
    let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
    let (node, recovery) = recover(config(), 1, &mut dir).unwrap();
    assert_eq!(recovery.aof_len_valid, again.len() as u64);
    assert_eq!(value(&node, "a"), None);
    assert_eq!(value(&node, "c").as_deref(), Some("3"));
}

/// A directory from before manifests starts: its `appendonly.aof` becomes the tail
/// from offset zero, and goes once a base covers it.
#[test]
fn a_legacy_directory_migrates() {
    let path = test_dir("legacy");
    fs::create_dir_all(&path).unwrap();
    let old = records(true, &[("a", "1")]);
    fs::write(path.join(LEGACY_AOF_FILE_NAME), &old).unwrap();
    let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
    let manifest = manifest::read(&path).unwrap().unwrap();
    assert_eq!(manifest.tails[0].name, LEGACY_AOF_FILE_NAME);
    let (node, recovery) = recover(config(), 1, &mut dir).unwrap();
    assert_eq!(recovery.aof_len_valid, old.len() as u64);
    assert_eq!(value(&node, "a").as_deref(), Some("1"));
    append(&mut dir, &records(false, &[("b", "2")]));
    let end = dir.aof_end();
    dir.begin_base(end, BaseKind::Rewrite).unwrap();
    dir.write_base(&base_bytes(end.0, &[("a", "1"), ("b", "2")]))
        .unwrap();
    dir.finish_base().unwrap();
    assert!(!path.join(LEGACY_AOF_FILE_NAME).exists());
    drop(dir);
    let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
    let (node, _) = recover(config(), 1, &mut dir).unwrap();
    assert_eq!(value(&node, "b").as_deref(), Some("2"));
}

#[test]
fn a_corrupt_base_is_reported_with_its_path() {
    let path = test_dir("corrupt-base");
    let first = records(true, &[("a", "1")]);
    let offset = first.len() as u64;
    let mut base = base_bytes(offset, &[("a", "1")]);
    let last = base.len() - 1;
    base[last] ^= 0xff;
    {
        let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
        append(&mut dir, &first);
        dir.begin_base(Offset(offset), BaseKind::Rewrite).unwrap();
        dir.write_base(&base).unwrap();
        dir.finish_base().unwrap();
    }
    let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
    let base_path = dir.aof().base_path().unwrap();
    let Err(error) = recover(config(), 1, &mut dir) else {
        panic!("a corrupt base recovered");
    };
    let want = format!("{}: the AOF base is corrupt at byte ", base_path.display());
    assert!(error.starts_with(&want), "{error}");
}

/// Corruption in a tail file names that file, not just the directory.
#[test]
fn a_corrupt_tail_record_names_its_file() {
    let path = test_dir("corrupt-tail");
    let first = records(true, &[("a", "1")]);
    let second = records(false, &[("b", "2"), ("c", "3")]);
    let first_path = {
        let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
        append(&mut dir, &first);
        let first_path = dir.aof().current_path();
        dir.begin_base(dir.aof_end(), BaseKind::Rewrite).unwrap();
        dir.abandon_base().unwrap();
        append(&mut dir, &second);
        first_path
    };
    let mut bytes = fs::read(&first_path).unwrap();
    bytes[first.len() - 2] ^= 0x40;
    fs::write(&first_path, &bytes).unwrap();
    let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
    let Err(error) = recover(config(), 1, &mut dir) else {
        panic!("a corrupt record recovered");
    };
    assert!(
        error.starts_with(&format!("{}: ", first_path.display())),
        "{error}"
    );
    assert!(error.contains("corrupt"), "{error}");
}

/// A node recovered from a base alone counts everything up to the base's offset as
/// recovered and durable.
#[test]
fn a_base_alone_recovers() {
    let path = test_dir("base-durable");
    let (dir, offset) = dir_with_a_base(&path);
    drop(dir);
    let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
    let (node, recovery) = recover(config(), 1, &mut dir).unwrap();
    assert_eq!(recovery.records, 0, "everything came from the base");
    assert_eq!(node.durable_end(), Offset(offset));
}

/// The zeros preallocated past the end read as a torn tail of nothing: recovery keeps
/// every record and cuts the zeros.
#[test]
fn recovery_cuts_preallocated_zeros() {
    let path = test_dir("prealloc-recover");
    let written = records(true, &[("a", "1"), ("b", "2")]);
    {
        let mut dir = DataDir::open(&path, AppendFsync::Always).unwrap();
        dir.start_preallocating().unwrap();
        append(&mut dir, &written);
        dir.aof.settle_prealloc();
        assert!(dir.aof.current().metadata().unwrap().len() > written.len() as u64);
    }
    let mut dir = DataDir::open(&path, AppendFsync::No).unwrap();
    let (node, recovery) = recover(config(), 1, &mut dir).unwrap();
    assert_eq!(recovery.aof_len_valid, written.len() as u64);
    assert_eq!(value(&node, "b").as_deref(), Some("2"));
    assert_eq!(
        dir.aof.current().metadata().unwrap().len(),
        written.len() as u64
    );
    assert_eq!(tail_bytes(&dir), written);
}
