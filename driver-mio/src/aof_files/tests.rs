use super::*;
use crate::fsio::{file_names, test_dir};
use crate::manifest::{MANIFEST_FILE_NAME, MANIFEST_TMP_FILE_NAME};

fn read_all(files: &AofFiles, offset: u64) -> Vec<u8> {
    let mut buf = vec![0u8; 1024];
    let n = files.read_at(offset, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// A rewrite started at the AOF's end, then abandoned: one more tail file.
fn rotate(files: &mut AofFiles) {
    files.begin_base(files.end(), BaseKind::Rewrite).unwrap();
    files.abandon_base().unwrap();
}

/// Three tail files: `abc` from 0, `de` from 3, `fgh` from 5.
fn three_tails(path: &Path) -> AofFiles {
    let mut files = AofFiles::open(path).unwrap();
    files.write(b"abc").unwrap();
    rotate(&mut files);
    files.write(b"de").unwrap();
    rotate(&mut files);
    files.write(b"fgh").unwrap();
    assert_eq!(files.tails.len(), 3);
    files
}

#[test]
fn reads_span_tail_files() {
    let path = test_dir("span");
    let files = three_tails(&path);
    assert_eq!(read_all(&files, 0), b"abcdefgh");
    assert_eq!(read_all(&files, 2), b"cdefgh");
    assert_eq!(read_all(&files, 5), b"fgh");
    assert_eq!(read_all(&files, 8), b"");
    let reopened = AofFiles::open(&path).unwrap();
    assert_eq!(read_all(&reopened, 1), b"bcdefgh");
    assert_eq!(
        reopened.read_for_recovery().unwrap(),
        (None, b"abcdefgh".to_vec())
    );
}

/// Starting a rewrite on an empty tail file that begins at the AOF's end reuses it.
#[test]
fn an_empty_current_tail_is_reused() {
    let path = test_dir("reuse");
    let mut files = AofFiles::open(&path).unwrap();
    files.write(b"abc").unwrap();
    rotate(&mut files);
    let before = file_names(&path);
    rotate(&mut files);
    rotate(&mut files);
    assert_eq!(files.tails.len(), 2);
    assert_eq!(file_names(&path), before);
}

#[test]
fn truncation_within_the_tail_drops_later_files() {
    let path = test_dir("truncate-within");
    let mut files = three_tails(&path);
    let last = files.current_path();
    files.truncate(4).unwrap();
    assert_eq!(files.tails.len(), 2);
    assert!(!last.exists());
    assert_eq!(read_all(&files, 0), b"abcd");
    files.write(b"XY").unwrap();
    // A cut exactly where a file starts keeps that file, empty.
    files.truncate(3).unwrap();
    assert_eq!(files.tails.len(), 2);
    files.write(b"Z").unwrap();
    drop(files);
    let files = AofFiles::open(&path).unwrap();
    assert_eq!(files.tails.len(), 2);
    assert_eq!(read_all(&files, 0), b"abcZ");
}

/// Streams below a finished rewrite's base go on reading the tails it dropped, until
/// none needs them.
#[test]
fn tails_a_rewrite_drops_stay_readable_for_streams() {
    let path = test_dir("retired");
    let mut files = three_tails(&path);
    files.begin_base(8, BaseKind::Rewrite).unwrap();
    files.write(b"ij").unwrap();
    files.write_base(b"base").unwrap();
    files.finish_base().unwrap();
    assert_eq!(files.base_offset(), 8);
    assert_eq!(files.tails.len(), 1);
    let on_disk = file_names(&path);
    assert_eq!(on_disk.len(), 3, "base, tail, manifest: {on_disk:?}");
    assert_eq!(read_all(&files, 1), b"bcdefghij");
    files.release_retired(Some(2));
    assert_eq!(
        read_all(&files, 1),
        b"bcdefghij",
        "a stream still reads at 2"
    );
    files.release_retired(None);
    assert_eq!(read_all(&files, 1), b"");
    assert_eq!(read_all(&files, 8), b"ij");
}

/// A base stream holds its file: a later rewrite that deletes it does not disturb it.
#[test]
fn an_open_base_survives_the_next_rewrite() {
    let path = test_dir("base-handle");
    let mut files = AofFiles::open(&path).unwrap();
    files.write(b"abc").unwrap();
    files.begin_base(3, BaseKind::Rewrite).unwrap();
    files.write_base(b"first base").unwrap();
    files.finish_base().unwrap();
    let (file, len) = files.open_base().unwrap().unwrap();
    let first_path = files.base_path().unwrap();
    files.write(b"d").unwrap();
    files.begin_base(4, BaseKind::Rewrite).unwrap();
    files.write_base(b"second").unwrap();
    files.finish_base().unwrap();
    assert!(!first_path.exists());
    let mut buf = vec![0u8; len as usize];
    assert_eq!(read_full_at(&file, &mut buf, 0).unwrap(), 10);
    assert_eq!(buf, b"first base");
}

/// Bases are fsynced in the background as they grow, so the last fsync is short.
#[test]
fn a_growing_base_is_synced_in_the_background() {
    let path = test_dir("base-sync");
    let mut files = AofFiles::open(&path).unwrap();
    files.begin_base(0, BaseKind::Rewrite).unwrap();
    let slice = vec![7u8; 256 * 1024];
    let slices = (BASE_SYNC_INTERVAL_BYTES / slice.len() as u64) + 8;
    for _ in 0..slices {
        files.write_base(&slice).unwrap();
    }
    let building = files.building.as_ref().unwrap();
    assert!(files.base_syncer.is_some());
    assert!(building.written_at_sync >= BASE_SYNC_INTERVAL_BYTES);
    files.finish_base().unwrap();
    files.check_background().unwrap();
    let len = fs::metadata(files.base_path().unwrap()).unwrap().len();
    assert_eq!(len, slices * slice.len() as u64);
}

/// Files the manifest does not name are deleted at start; files that are not the
/// AOF's are left alone.
#[test]
fn stray_files_are_deleted_at_start() {
    let path = test_dir("strays");
    let files = three_tails(&path);
    drop(files);
    let strays = [
        "appendonly.aof.99.incr",
        "appendonly.aof.7.base.tmp",
        "appendonly.aof.8.base",
        "appendonly.aof",
        "manifest.tmp",
    ];
    for name in strays {
        fs::write(path.join(name), b"stray").unwrap();
    }
    fs::write(path.join("notes.txt"), b"mine").unwrap();
    let files = AofFiles::open(&path).unwrap();
    for name in strays {
        assert!(!path.join(name).exists(), "{name}");
    }
    assert!(path.join("notes.txt").exists());
    assert_eq!(read_all(&files, 0), b"abcdefgh");
}

#[test]
fn a_bad_manifest_or_a_missing_file_stops_the_start() {
    let path = test_dir("bad-manifest");
    drop(three_tails(&path));
    let manifest_path = path.join(MANIFEST_FILE_NAME);
    let good = fs::read(&manifest_path).unwrap();
    let mut flipped = good.clone();
    flipped[30] ^= 1;
    fs::write(&manifest_path, &flipped).unwrap();
    let error = AofFiles::open(&path).err().unwrap();
    assert!(
        error.starts_with(&format!("{}: ", manifest_path.display())),
        "{error}"
    );
    assert!(error.contains("corrupt"), "{error}");

    fs::write(&manifest_path, &good).unwrap();
    let middle = path.join(manifest::tail_name(2));
    fs::write(&middle, b"d").unwrap();
    let error = AofFiles::open(&path).err().unwrap();
    assert!(
        error.starts_with(&format!("{}: holds 1 bytes", middle.display())),
        "{error}"
    );

    fs::remove_file(&middle).unwrap();
    let error = AofFiles::open(&path).err().unwrap();
    assert!(
        error.starts_with(&format!("{}: ", middle.display())),
        "{error}"
    );
}

/// Without a manifest, AOF bytes in files of the new scheme are not guessed at; the
/// empty file a crash during the very first start leaves is.
#[test]
fn a_lost_manifest_is_not_guessed() {
    let path = test_dir("lost-manifest");
    fs::create_dir_all(&path).unwrap();
    fs::write(path.join(manifest::tail_name(1)), b"").unwrap();
    fs::write(path.join(MANIFEST_TMP_FILE_NAME), b"half").unwrap();
    let mut files = AofFiles::open(&path).unwrap();
    files.write(b"abc").unwrap();
    drop(files);
    fs::remove_file(path.join(MANIFEST_FILE_NAME)).unwrap();
    let error = AofFiles::open(&path).err().unwrap();
    assert!(error.contains("AOF data, but"), "{error}");
    assert!(error.contains(MANIFEST_FILE_NAME), "{error}");
}

#[test]
fn recovery_cuts_only_the_last_tail_file() {
    let path = test_dir("cut");
    let mut files = three_tails(&path);
    files.cut_for_recovery(6).unwrap();
    assert_eq!(read_all(&files, 0), b"abcdef");
    let error = files.cut_for_recovery(4).unwrap_err();
    assert!(
        error.contains("before this last tail file starts"),
        "{error}"
    );
}

#[test]
#[should_panic(expected = "AbandonBase must come first")]
fn truncation_below_a_base_being_written_is_a_bug() {
    let path = test_dir("truncate-building");
    let mut files = AofFiles::open(&path).unwrap();
    files.write(b"abc").unwrap();
    files.begin_base(3, BaseKind::Rewrite).unwrap();
    let _ = files.truncate(2);
}

/// The current tail file's length on disk, zeros included.
fn current_len(files: &AofFiles) -> u64 {
    files.current().metadata().unwrap().len()
}

/// Zeros lie past the end, never in the AOF: reads stop at the logical end, every
/// byte written reads back (however far the writes ran ahead of the zeroing thread),
/// and a rotation leaves the old tail file exactly as long as its bytes.
#[test]
fn preallocated_zeros_stay_past_the_end() {
    use crate::prealloc::CHUNK_BYTES;
    let path = test_dir("prealloc");
    let mut files = AofFiles::open(&path).unwrap();
    files.start_preallocating().unwrap();
    files.write(b"abc").unwrap();
    files.settle_prealloc();
    assert_eq!(current_len(&files), 3 + CHUNK_BYTES);
    assert_eq!(read_all(&files, 0), b"abc");
    // Writes of several chunks in a row, racing the thread.
    let piece: Vec<u8> = (0..64 * 1024).map(|i| (i % 251) as u8 + 1).collect();
    for _ in 0..(3 * CHUNK_BYTES / piece.len() as u64) {
        files.write(&piece).unwrap();
    }
    let mut all = vec![0u8; files.end() as usize];
    assert_eq!(files.read_at(0, &mut all).unwrap(), all.len());
    assert_eq!(&all[..3], b"abc");
    assert!(all[3..].chunks(piece.len()).all(|c| c == &piece[..]));
    rotate(&mut files);
    let old = files.tails[0].file.metadata().unwrap().len();
    assert_eq!(old, files.end());
    drop(files);
    // A reopened AOF passes the manifest's length checks.
    AofFiles::open(&path).unwrap();
}

/// A cut takes the zeros with it; they come back with the next write.
#[test]
fn truncation_cuts_the_preallocated_zeros() {
    let path = test_dir("prealloc-cut");
    let mut files = AofFiles::open(&path).unwrap();
    files.start_preallocating().unwrap();
    files.write(b"hello").unwrap();
    files.truncate(2).unwrap();
    assert_eq!(current_len(&files), 2);
    files.write(b"y").unwrap();
    files.settle_prealloc();
    assert!(current_len(&files) > 3);
    assert_eq!(read_all(&files, 0), b"hey");
    files.cut_for_recovery(1).unwrap();
    assert_eq!(current_len(&files), 1);
}
