use super::*;
use crate::config::AppendFsync;
use crate::fsio::test_dir;
use bucket_core::BaseKind;

/// `len` bytes that differ from position to position.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

fn aof_stream(start: u64, end: u64) -> Stream {
    Stream {
        peer: NodeId(1),
        session: 5,
        source: Source::Aof {
            next: Offset(start),
            end: Offset(end),
        },
        finished: false,
    }
}

/// Reads every chunk; returns them and the bytes end to end.
fn drain(stream: &mut Stream, files: &mut DataDir) -> (Vec<Chunk>, Vec<u8>) {
    let mut buf = vec![0u8; AOF_CHUNK_BYTES];
    let (mut chunks, mut bytes) = (Vec::new(), Vec::new());
    for _ in 0..1000 {
        if stream.finished {
            return (chunks, bytes);
        }
        let chunk = stream.read_chunk(files, &mut buf).unwrap();
        bytes.extend_from_slice(&buf[..chunk.len]);
        chunks.push(chunk);
    }
    panic!("the stream never finished");
}

fn rewrite(files: &mut DataDir, base: &[u8]) {
    files
        .begin_base(files.aof_end(), BaseKind::Rewrite)
        .unwrap();
    files.write_base(base).unwrap();
    files.finish_base().unwrap();
}

#[test]
fn an_aof_stream_reads_across_tail_files_in_chunks() {
    let path = test_dir("stream-aof");
    let mut files = DataDir::open(&path, AppendFsync::No).unwrap();
    let (first, second) = (pattern(100_000, 1), pattern(50_000, 2));
    files.append(Offset(0), &first);
    files
        .begin_base(files.aof_end(), BaseKind::Rewrite)
        .unwrap();
    files.abandon_base().unwrap();
    files.append(files.aof_end(), &second);
    let mut stream = aof_stream(10, 150_000);
    let (chunks, bytes) = drain(&mut stream, &mut files);
    assert_eq!(bytes, [&first[10..], &second[..]].concat());
    let chunk = AOF_CHUNK_BYTES as u64;
    let want = [
        (10, chunk, false),
        (10 + chunk, chunk, false),
        (10 + 2 * chunk, 150_000 - 10 - 2 * chunk, true),
    ];
    let got: Vec<(u64, u64, bool)> = chunks
        .iter()
        .map(|c| (c.offset, c.len as u64, c.done))
        .collect();
    assert_eq!(got, want);
    assert!(chunks.iter().all(|c| !c.short));
}

#[test]
fn an_aof_stream_cut_under_it_ends_short() {
    let path = test_dir("stream-cut");
    let mut files = DataDir::open(&path, AppendFsync::No).unwrap();
    files.append(Offset(0), &pattern(100_000, 3));
    let mut stream = aof_stream(0, 100_000);
    let mut buf = vec![0u8; AOF_CHUNK_BYTES];
    let first = stream.read_chunk(&mut files, &mut buf).unwrap();
    assert!(!first.done);
    files.truncate(Offset(70_000)).unwrap();
    let second = stream.read_chunk(&mut files, &mut buf).unwrap();
    let want = Chunk {
        offset: AOF_CHUNK_BYTES as u64,
        len: 70_000 - AOF_CHUNK_BYTES,
        done: true,
        short: true,
    };
    assert_eq!(second, want);
    assert!(stream.finished);
}

/// A base stream reads the base it opened, in chunks, though a rewrite replaces and
/// deletes that base meanwhile.
#[test]
fn a_base_stream_survives_a_rewrite() {
    let path = test_dir("stream-base");
    let mut files = DataDir::open(&path, AppendFsync::No).unwrap();
    files.append(Offset(0), b"records");
    let base = pattern(2 * AOF_CHUNK_BYTES + 1000, 4);
    rewrite(&mut files, &base);
    let (file, len) = files.open_base().unwrap().unwrap();
    let mut stream = Stream {
        peer: NodeId(2),
        session: 6,
        source: Source::Base {
            file,
            position: 0,
            len,
        },
        finished: false,
    };
    let old_base = files.aof().base_path().unwrap();
    files.append(files.aof_end(), b"more");
    rewrite(&mut files, b"a newer base");
    assert!(!old_base.exists());
    let (chunks, bytes) = drain(&mut stream, &mut files);
    assert!(bytes == base, "the streamed base differs");
    let offsets: Vec<u64> = chunks.iter().map(|c| c.offset).collect();
    assert_eq!(
        offsets,
        [0, AOF_CHUNK_BYTES as u64, 2 * AOF_CHUNK_BYTES as u64]
    );
    let done: Vec<bool> = chunks.iter().map(|c| c.done).collect();
    assert_eq!(done, [false, false, true]);
}
