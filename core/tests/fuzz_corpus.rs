//! Replays the committed fuzz corpora (`fuzz/corpus/<target>/`) through the same
//! functions the fuzz targets call, so CI exercises every input the fuzzer kept.

use std::path::Path;

fn replay(target: &str, run: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        panic!("no corpus for {target} at {}", dir.display());
    };
    let mut paths: Vec<_> = entries.map(|e| e.expect("readable entry").path()).collect();
    paths.sort();
    assert!(!paths.is_empty(), "the {target} corpus is empty");
    for path in paths {
        let data = std::fs::read(&path).expect("readable corpus file");
        run(&data);
    }
}

#[test]
fn resp_corpus() {
    replay("resp", bucket_core::fuzz::resp_requests);
}

#[test]
fn peer_frame_corpus() {
    replay("peer_frame", bucket_core::fuzz::peer_frames);
}

#[test]
fn aof_record_corpus() {
    replay("aof_record", bucket_core::fuzz::aof_records);
}

#[test]
fn meta_corpus() {
    replay("meta", bucket_core::fuzz::meta_and_recovery);
}

#[test]
fn node_commands_corpus() {
    replay("node_commands", bucket_core::fuzz::node_commands);
}

#[test]
fn replica_peer_input_corpus() {
    replay("replica_peer_input", bucket_core::fuzz::replica_peer_input);
}
