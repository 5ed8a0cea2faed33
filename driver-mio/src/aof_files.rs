//! The AOF's files: an optional base and the tail files the manifest names (see
//! `manifest.rs` for the layout), and every step that changes which files those are.
//!
//! Invariants, kept by each step below:
//! - Every tail file but the last holds exactly `[start, next start)` and is durable,
//!   and so is the base: a file is fsynced in full before a manifest names a file after
//!   it. Only the last tail file takes appends, so only it can hold a torn record, and
//!   an fsync of the last tail file makes the whole AOF durable up to its end.
//! - A file is named by the manifest on disk before it holds a byte the node may be
//!   told is durable, and deleted only after a manifest without it is durable. A crash
//!   anywhere leaves a manifest whose files are all there; files it does not name are
//!   deleted at the next start.
//! - The base being written (`Building`) lives in a temporary file that no manifest
//!   names until `finish_base` has fsynced and renamed it.
//!
//! Tails that a finished rewrite drops stay open (`retired`) while a stream may still
//! read below the new base's offset, so a full resync that was sending them when the
//! rewrite finished goes on undisturbed (Linux keeps unlinked open files readable).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bucket_core::BaseKind;

use crate::fsio::{named, read_full_at};
use crate::manifest::{self, FileKind, Manifest, Part, LEGACY_AOF_FILE_NAME};
use crate::prealloc::Preallocator;
use crate::syncer::BackgroundSync;
use crate::{log_info, log_warn};

/// Bytes of a base gathered before one write to its file.
const BASE_BUFFER_BYTES: usize = 1024 * 1024;
/// Bytes of a base written between two background fsyncs of it, so that the fsync at
/// `FinishBase`, which the loop waits for, has little left to do.
pub const BASE_SYNC_INTERVAL_BYTES: u64 = 8 * 1024 * 1024;

const _: () = assert!(BASE_BUFFER_BYTES as u64 <= BASE_SYNC_INTERVAL_BYTES);

struct Tail {
    name: String,
    /// The logical offset of the file's first byte.
    start: u64,
    file: Arc<File>,
}

/// A base being written to its temporary file.
struct Building {
    kind: BaseKind,
    offset: u64,
    seq: u64,
    file: Arc<File>,
    /// Bytes not yet written to `file`.
    buffer: Vec<u8>,
    written: u64,
    /// `written` when the last background fsync was handed over.
    written_at_sync: u64,
    /// For a rewrite: the index of the tail file that starts at `offset`, the first
    /// one the finished base keeps.
    first_tail: usize,
}

pub struct AofFiles {
    dir: PathBuf,
    base: Option<Part>,
    /// At least one; the first starts at the base's offset (zero without a base).
    tails: Vec<Tail>,
    /// Tails a finished rewrite dropped, still open for streams (oldest first; the
    /// last one ends where `tails` start).
    retired: Vec<Tail>,
    /// The logical end of what has been written.
    end: u64,
    next_seq: u64,
    building: Option<Building>,
    /// Started at the first base written.
    base_syncer: Option<BackgroundSync>,
    /// Zeroed space ahead of the current tail's end (`prealloc.rs`), once started.
    prealloc: Option<Preallocator>,
}

impl AofFiles {
    /// Opens the AOF's files in `dir` as its manifest names them, first writing a
    /// manifest for a directory without one, and deletes the AOF files it does not
    /// name. Errors name the file.
    pub fn open(dir: &Path) -> Result<AofFiles, String> {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let (manifest, found) = match manifest::read(dir)? {
            Some(manifest) => (manifest, true),
            None => (manifest_from_directory(dir)?, false),
        };
        remove_unnamed(dir, &manifest)?;
        let files = AofFiles::open_named(dir, manifest)?;
        if !found {
            files.write_manifest().map_err(|e| e.to_string())?;
            log_info!("{}: AOF manifest written", dir.display());
        }
        Ok(files)
    }

    fn open_named(dir: &Path, manifest: Manifest) -> Result<AofFiles, String> {
        if let Some(base) = &manifest.base {
            let path = dir.join(&base.name);
            fs::metadata(&path)
                .map_err(|e| format!("{}: the AOF base the manifest names: {e}", path.display()))?;
        }
        let mut tails = Vec::with_capacity(manifest.tails.len());
        let mut end = 0;
        for (i, part) in manifest.tails.iter().enumerate() {
            let path = dir.join(&part.name);
            // Not `append`: writes go to the logical end, inside preallocated zeros.
            let opened = OpenOptions::new().read(true).write(true).open(&path);
            let file = opened.and_then(|file| file.metadata().map(|m| (file, m.len())));
            let (file, len) = file.map_err(|e| {
                format!(
                    "{}: an AOF tail file the manifest names: {e}",
                    path.display()
                )
            })?;
            if let Some(next) = manifest.tails.get(i + 1) {
                let want = next.offset - part.offset;
                if len != want {
                    return Err(format!(
                        "{}: holds {len} bytes, but the AOF manifest says {want} (the next tail file starts at offset {})",
                        path.display(),
                        next.offset
                    ));
                }
            }
            end = part.offset + len;
            tails.push(Tail {
                name: part.name.clone(),
                start: part.offset,
                file: Arc::new(file),
            });
        }
        Ok(AofFiles {
            dir: dir.to_path_buf(),
            next_seq: manifest.next_seq(),
            base: manifest.base,
            tails,
            retired: Vec::new(),
            end,
            building: None,
            base_syncer: None,
            prealloc: None,
        })
    }

    /// The logical end of what has been written.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Where the tail starts: the base's offset, zero without a base.
    pub fn base_offset(&self) -> u64 {
        self.tails[0].start
    }

    pub fn base_path(&self) -> Option<PathBuf> {
        self.base.as_ref().map(|b| self.dir.join(&b.name))
    }

    /// The tail file holding logical `offset` (the last one for offsets past the end).
    pub fn tail_path_at(&self, offset: u64) -> PathBuf {
        let i = self.tails.iter().rposition(|t| t.start <= offset);
        self.dir.join(&self.tails[i.unwrap_or(0)].name)
    }

    pub fn current_path(&self) -> PathBuf {
        self.dir.join(&self.current_tail().name)
    }

    fn current_tail(&self) -> &Tail {
        self.tails.last().expect("the AOF always has a tail file")
    }

    /// The file that takes appends, for the fsync threads.
    pub fn current(&self) -> Arc<File> {
        self.current_tail().file.clone()
    }

    /// Where tail file `i` ends.
    fn tail_end(&self, i: usize) -> u64 {
        self.tails.get(i + 1).map_or(self.end, |next| next.start)
    }

    /// The base's bytes, if there is a base, and the tail files' bytes end to end.
    pub fn read_for_recovery(&self) -> Result<(Option<Vec<u8>>, Vec<u8>), String> {
        let base = match self.base_path() {
            Some(path) => Some(fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?),
            None => None,
        };
        let mut tail = Vec::with_capacity((self.end - self.base_offset()) as usize);
        for (i, t) in self.tails.iter().enumerate() {
            let len = (self.tail_end(i) - t.start) as usize;
            let at = tail.len();
            tail.resize(at + len, 0);
            let path = self.dir.join(&t.name);
            let n = read_full_at(&t.file, &mut tail[at..], 0)
                .map_err(|e| format!("{}: {e}", path.display()))?;
            if n < len {
                return Err(format!(
                    "{}: shrank from {len} to {n} bytes while being read",
                    path.display()
                ));
            }
        }
        Ok((base, tail))
    }

    /// Cuts a torn end found by recovery, durably. Only the last tail file takes
    /// appends, so only it can end in a torn record.
    pub fn cut_for_recovery(&mut self, valid_end: u64) -> Result<(), String> {
        let last = self.current_tail();
        let path = self.current_path();
        if valid_end < last.start {
            return Err(format!(
                "{}: the AOF's whole records end at offset {valid_end}, before this last tail file starts (offset {}): an earlier file is damaged",
                path.display(),
                last.start
            ));
        }
        assert!(valid_end <= self.end, "a cut never lengthens the AOF");
        self.end = valid_end;
        self.trim_current()
            .and_then(|()| {
                let synced = self.current_tail().file.sync_all();
                synced.map_err(named(&self.current_path()))
            })
            .map_err(|e| e.to_string())
    }

    /// Fsyncs every tail file: a process that died may have left written bytes only in
    /// the page cache, and the node counts all it recovers as durable.
    pub fn sync_for_recovery(&self) -> Result<(), String> {
        for tail in &self.tails {
            let path = self.dir.join(&tail.name);
            tail.file
                .sync_data()
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(())
    }

    /// Keeps zeroed space ahead of the current tail's end from now on. Started after
    /// recovery, which cuts the zeros a previous run left.
    pub fn start_preallocating(&mut self) -> io::Result<()> {
        let len = self.end - self.current_tail().start;
        self.prealloc = Some(Preallocator::start(len)?);
        Ok(())
    }

    /// Appends to the current tail file (in the page cache: not durable).
    pub fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let tail = self.tails.last().expect("the AOF always has a tail file");
        let at = self.end - tail.start;
        let until = at + bytes.len() as u64;
        if let Some(prealloc) = self.prealloc.as_mut() {
            prealloc.before_write(until);
        }
        tail.file
            .write_all_at(bytes, at)
            .map_err(named(&self.dir.join(&tail.name)))?;
        if let Some(prealloc) = self.prealloc.as_mut() {
            prealloc.after_write(&tail.file, until);
        }
        self.end += bytes.len() as u64;
        Ok(())
    }

    /// Waits for the zeros being written, before the current tail is cut or left.
    pub(crate) fn settle_prealloc(&mut self) {
        if let Some(prealloc) = self.prealloc.as_mut() {
            prealloc.settle();
        }
    }

    /// The current tail file now holds exactly its bytes up to the AOF's end.
    fn restart_prealloc(&mut self) {
        let len = self.end - self.current_tail().start;
        if let Some(prealloc) = self.prealloc.as_mut() {
            prealloc.restart(len);
        }
    }

    /// Cuts the preallocated zeros off the current tail file, so that it holds
    /// exactly `[start, end)`, as every tail file but the last must.
    fn trim_current(&mut self) -> io::Result<()> {
        self.settle_prealloc();
        let tail = self.current_tail();
        tail.file
            .set_len(self.end - tail.start)
            .map_err(named(&self.current_path()))?;
        self.restart_prealloc();
        Ok(())
    }

    /// Fsyncs the current tail file: the whole AOF is then durable to its end.
    pub fn sync_current(&self) -> io::Result<()> {
        let tail = self.current_tail();
        tail.file.sync_data().map_err(named(&self.current_path()))
    }

    /// Cuts the AOF back to `offset`: within the tail (dropping whole later tail files,
    /// then cutting one), or, below the base's offset (only ever zero), to nothing.
    /// Dropped files leave the manifest durably at once; the cut of the last file is
    /// made durable by the next fsync, like any append.
    pub fn truncate(&mut self, offset: u64) -> io::Result<()> {
        assert!(offset <= self.end, "TruncateAof beyond the AOF's end");
        if let Some(building) = &self.building {
            assert_eq!(
                building.kind,
                BaseKind::Rewrite,
                "no truncation while a base from the master is written"
            );
            assert!(
                offset >= building.offset,
                "TruncateAof below a base being written: AbandonBase must come first"
            );
        }
        if offset < self.base_offset() {
            assert_eq!(offset, 0, "TruncateAof within the base");
            return self.reset();
        }
        let i = self
            .tails
            .iter()
            .rposition(|t| t.start <= offset)
            .expect("the first tail starts at the base's offset");
        self.settle_prealloc();
        let dropped = self.tails.split_off(i + 1);
        if !dropped.is_empty() {
            self.write_manifest()?;
            self.remove_files(dropped.iter().map(|t| t.name.as_str()));
        }
        self.end = offset;
        self.trim_current()
    }

    /// An empty AOF: no base, one new empty tail file from zero.
    fn reset(&mut self) -> io::Result<()> {
        self.settle_prealloc();
        let tail = self.create_tail(0)?;
        let old_tails = std::mem::replace(&mut self.tails, vec![tail]);
        let old_base = self.base.take();
        self.retired.clear();
        self.end = 0;
        self.restart_prealloc();
        self.write_manifest()?;
        let old_names = old_tails.iter().map(|t| t.name.as_str());
        self.remove_files(old_names.chain(old_base.iter().map(|b| b.name.as_str())));
        Ok(())
    }

    /// `Output::BeginBase`. For a rewrite, `offset` is the AOF's end, and everything
    /// before it is written: the current tail file is fsynced, and a new one starting at
    /// `offset` takes every later append and is in the manifest durably when this
    /// returns. Then, for either kind, a temporary base file is opened.
    pub fn begin_base(&mut self, offset: u64, kind: BaseKind) -> io::Result<()> {
        assert!(self.building.is_none(), "one base at a time");
        let first_tail = match kind {
            BaseKind::Rewrite => {
                assert_eq!(offset, self.end, "a rewrite's base is at the AOF's end");
                self.rotate()?
            }
            BaseKind::FromMaster => 0,
        };
        let seq = self.take_seq();
        let path = self.dir.join(manifest::temp_base_name(seq));
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(named(&path))?;
        self.building = Some(Building {
            kind,
            offset,
            seq,
            file: Arc::new(file),
            buffer: Vec::with_capacity(BASE_BUFFER_BYTES),
            written: 0,
            written_at_sync: 0,
            first_tail,
        });
        Ok(())
    }

    /// Makes the current tail file durable and starts the next one at the AOF's end;
    /// returns its index. An empty current tail file that already starts there serves
    /// as the new one: it is durable and named already, and abandoned rewrites then
    /// add no files.
    fn rotate(&mut self) -> io::Result<usize> {
        if self.current_tail().start == self.end {
            self.sync_current()?;
            return Ok(self.tails.len() - 1);
        }
        if self.tails.len() >= manifest::TAIL_FILES_MAX {
            return Err(io::Error::other(format!(
                "{}: {} AOF tail files: too many to start another",
                self.dir.display(),
                self.tails.len()
            )));
        }
        // The next file starts where this one's bytes end, so its zeros go first.
        self.trim_current()?;
        let current = self.current_tail();
        current
            .file
            .sync_all()
            .map_err(named(&self.current_path()))?;
        let tail = self.create_tail(self.end)?;
        self.tails.push(tail);
        self.restart_prealloc();
        self.write_manifest()?;
        Ok(self.tails.len() - 1)
    }

    pub fn is_building(&self) -> bool {
        self.building.is_some()
    }

    /// Whether a base from the master is being written (the node appends nothing then).
    pub fn is_receiving_base(&self) -> bool {
        matches!(&self.building, Some(b) if b.kind == BaseKind::FromMaster)
    }

    /// `Output::WriteBase`: buffered, and fsynced in the background now and then.
    pub fn write_base(&mut self, bytes: &[u8]) -> io::Result<()> {
        let building = self.building.as_mut().expect("WriteBase without BeginBase");
        building.buffer.extend_from_slice(bytes);
        if building.buffer.len() < BASE_BUFFER_BYTES {
            return Ok(());
        }
        self.flush_base()?;
        let building = self.building.as_mut().expect("still building");
        if building.written - building.written_at_sync < BASE_SYNC_INTERVAL_BYTES {
            return Ok(());
        }
        let syncer = match &mut self.base_syncer {
            Some(syncer) => syncer,
            None => self
                .base_syncer
                .insert(BackgroundSync::start("base-fsync")?),
        };
        if syncer.signal(building.file.clone()) {
            building.written_at_sync = building.written;
        }
        Ok(())
    }

    fn flush_base(&mut self) -> io::Result<()> {
        let building = self.building.as_mut().expect("a base is being built");
        let path = self.dir.join(manifest::temp_base_name(building.seq));
        let mut file: &File = &building.file;
        file.write_all(&building.buffer).map_err(named(&path))?;
        building.written += building.buffer.len() as u64;
        building.buffer.clear();
        Ok(())
    }

    /// `Output::FinishBase`: the base is fsynced, renamed to its final name, and named
    /// by a new manifest with the tail from its offset (for a rewrite, the tail files
    /// from the one `begin_base` started; for a base from the master, a new empty one).
    /// Then the files no longer named are deleted. Returns the base's offset if the
    /// base replaced the whole AOF (from the master), whose old bytes an fsync running
    /// meanwhile can no longer vouch for.
    pub fn finish_base(&mut self) -> io::Result<Option<u64>> {
        assert!(self.building.is_some(), "FinishBase without BeginBase");
        self.flush_base()?;
        let building = self.building.take().expect("checked above");
        let temp_path = self.dir.join(manifest::temp_base_name(building.seq));
        building.file.sync_all().map_err(named(&temp_path))?;
        let name = manifest::base_name(building.seq);
        fs::rename(&temp_path, self.dir.join(&name)).map_err(named(&temp_path))?;
        let base = Part {
            name,
            offset: building.offset,
        };
        let old_base = self.base.replace(base);
        let dropped = match building.kind {
            BaseKind::Rewrite => {
                assert_eq!(self.tails[building.first_tail].start, building.offset);
                let kept = self.tails.split_off(building.first_tail);
                std::mem::replace(&mut self.tails, kept)
            }
            BaseKind::FromMaster => {
                self.settle_prealloc();
                let tail = self.create_tail(building.offset)?;
                self.retired.clear();
                self.end = building.offset;
                let old = std::mem::replace(&mut self.tails, vec![tail]);
                self.restart_prealloc();
                old
            }
        };
        // The directory fsync that makes the manifest durable makes the rename so too.
        self.write_manifest()?;
        let dropped_names = dropped.iter().map(|t| t.name.as_str());
        self.remove_files(dropped_names.chain(old_base.iter().map(|b| b.name.as_str())));
        log_info!(
            "AOF base at offset {} written ({} bytes); the tail starts there",
            building.offset,
            building.written
        );
        match building.kind {
            BaseKind::Rewrite => {
                self.retired.extend(dropped);
                Ok(None)
            }
            BaseKind::FromMaster => Ok(Some(building.offset)),
        }
    }

    /// `Output::AbandonBase`: the temporary base goes; the manifest stays as it is.
    pub fn abandon_base(&mut self) -> io::Result<()> {
        let building = self.building.take().expect("AbandonBase without BeginBase");
        drop(building.file);
        let path = self.dir.join(manifest::temp_base_name(building.seq));
        fs::remove_file(&path).map_err(named(&path))
    }

    /// Reads the AOF at logical `offset` into `buf`, across tail files; fewer bytes
    /// where the AOF ends, or below the oldest tail still open.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
        let mut filled = 0;
        while filled < buf.len() {
            let position = offset + filled as u64;
            let Some((tail, tail_end)) = self.locate(position) else {
                break;
            };
            let want = (buf.len() - filled).min((tail_end - position) as usize);
            let into = &mut buf[filled..filled + want];
            let n = read_full_at(&tail.file, into, position - tail.start)
                .map_err(named(&self.dir.join(&tail.name)))?;
            filled += n;
            if n < want {
                break;
            }
        }
        Ok(filled)
    }

    /// The open tail file holding `position`, and where its bytes end.
    fn locate(&self, position: u64) -> Option<(&Tail, u64)> {
        if position >= self.end {
            return None;
        }
        let mut found = None;
        for tail in self.retired.iter().chain(&self.tails) {
            if tail.start > position {
                return found.map(|t| (t, tail.start));
            }
            // Of several files starting at one offset, all but the last are empty.
            found = Some(tail);
        }
        found.map(|t| (t, self.end))
    }

    /// Closes the retired tails once no stream reads below the base: `lowest` is the
    /// lowest offset an AOF stream will read next.
    pub fn release_retired(&mut self, lowest: Option<u64>) {
        if !self.retired.is_empty() && lowest.is_none_or(|at| at >= self.base_offset()) {
            self.retired.clear();
        }
    }

    /// The base the manifest names now, opened for a stream, and its length.
    pub fn open_base(&self) -> io::Result<Option<(File, u64)>> {
        let Some(path) = self.base_path() else {
            return Ok(None);
        };
        let file = File::open(&path).map_err(named(&path))?;
        let len = file.metadata().map_err(named(&path))?.len();
        Ok(Some((file, len)))
    }

    /// A failed background fsync of a base is a disk failure: fatal.
    pub fn check_background(&self) -> io::Result<()> {
        self.base_syncer.as_ref().map_or(Ok(()), |s| s.check())
    }

    fn manifest(&self) -> Manifest {
        Manifest {
            base: self.base.clone(),
            tails: self
                .tails
                .iter()
                .map(|t| Part {
                    name: t.name.clone(),
                    offset: t.start,
                })
                .collect(),
        }
    }

    fn write_manifest(&self) -> io::Result<()> {
        manifest::write(&self.dir, &self.manifest())
    }

    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }

    /// A new, empty tail file whose bytes will start at `start`.
    fn create_tail(&mut self, start: u64) -> io::Result<Tail> {
        let name = manifest::tail_name(self.take_seq());
        let path = self.dir.join(&name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(named(&path))?;
        Ok(Tail {
            name,
            start,
            file: Arc::new(file),
        })
    }

    /// Deletes files a durable manifest no longer names. A failure only leaves a
    /// stray file, which the next start deletes: worth a log line, not a stop.
    fn remove_files<'a>(&self, names: impl Iterator<Item = &'a str>) {
        for name in names {
            let path = self.dir.join(name);
            if let Err(e) = fs::remove_file(&path) {
                log_warn!(
                    "{}: deleting a file the AOF no longer uses: {e}",
                    path.display()
                );
            }
        }
    }
}

/// The AOF files in `dir`, by name and kind.
fn aof_entries(dir: &Path) -> Result<Vec<(String, FileKind)>, String> {
    let listing_error = |e: io::Error| format!("{}: {e}", dir.display());
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(listing_error)? {
        let entry = entry.map_err(listing_error)?;
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if let Some(kind) = manifest::classify(&name) {
            entries.push((name, kind));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(entries)
}

/// The manifest of a directory that has none: one from before manifests (its single
/// `appendonly.aof` is the tail from offset zero), or a new one (an empty tail file is
/// created). A crash while the first manifest was written leaves only empty files
/// besides; AOF bytes in files of the new scheme mean the manifest was lost, and the
/// node refuses to guess.
fn manifest_from_directory(dir: &Path) -> Result<Manifest, String> {
    let legacy = dir.join(LEGACY_AOF_FILE_NAME);
    let only_tail = |name: &str| Manifest {
        base: None,
        tails: vec![Part {
            name: name.to_string(),
            offset: 0,
        }],
    };
    if legacy.is_file() {
        log_info!(
            "{}: an AOF from before manifests; it becomes the tail from offset 0",
            legacy.display()
        );
        return Ok(only_tail(LEGACY_AOF_FILE_NAME));
    }
    for (name, kind) in aof_entries(dir)? {
        let path = dir.join(&name);
        let len = fs::metadata(&path).map_or(0, |m| m.len());
        if matches!(kind, FileKind::Tail(_) | FileKind::Base(_)) && len > 0 {
            return Err(format!(
                "{}: AOF data, but {} is missing; restore the manifest, or move the AOF files away to start empty",
                path.display(),
                dir.join(manifest::MANIFEST_FILE_NAME).display()
            ));
        }
    }
    let name = manifest::tail_name(1);
    let path = dir.join(&name);
    File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(only_tail(&name))
}

/// Deletes the AOF files the manifest does not name: temporary bases, tails that a
/// crash kept from being named, files a finished rewrite dropped.
fn remove_unnamed(dir: &Path, manifest: &Manifest) -> Result<(), String> {
    for (name, _) in aof_entries(dir)? {
        if manifest.names().any(|named| named == name) {
            continue;
        }
        let path = dir.join(&name);
        fs::remove_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        log_warn!(
            "{}: not named by the AOF manifest (left by an interrupted rewrite or rotation); deleted",
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests;
