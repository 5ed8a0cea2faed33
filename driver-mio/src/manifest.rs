//! The AOF's manifest: which files hold the AOF, as Redis 7's multi-part AOF.
//!
//! The AOF is a base (the keyspace as of logical offset X, `appendonly.aof.<seq>.base`)
//! and tail files (`appendonly.aof.<seq>.incr`), each holding the logical bytes
//! `[start, start + len)` of the replication stream, end to end from X. The manifest
//! names them, in order, in a few lines of text, the last one a CRC32 of the others:
//!
//! ```text
//! bucket-aof-manifest 1
//! base appendonly.aof.3.base 1048576
//! tail appendonly.aof.4.incr 1048576
//! tail appendonly.aof.5.incr 2097152
//! crc32 0c1d2e3f
//! ```
//!
//! The `base` line is absent while the node has no base; then the first tail starts at
//! zero. A directory from before manifests holds one `appendonly.aof`, named as the
//! tail from zero once it is migrated. The manifest is replaced atomically (write,
//! fsync, rename, fsync the directory), so a crash leaves the old list or the new one.
//! Sequence numbers only grow; they keep a new file from ever taking an old one's name.

use std::io;
use std::path::Path;

use crate::fsio;

pub const MANIFEST_FILE_NAME: &str = "manifest";
pub const MANIFEST_TMP_FILE_NAME: &str = "manifest.tmp";
/// The single AOF file of a directory from before manifests.
pub const LEGACY_AOF_FILE_NAME: &str = "appendonly.aof";
const PREFIX: &str = "appendonly.aof.";
const HEADER: &str = "bucket-aof-manifest 1";
/// Bounds on what a manifest may name: far above what a node ever holds (a rewrite
/// that finishes leaves one tail; each abandoned one adds at most one).
pub const TAIL_FILES_MAX: usize = 4096;
pub const MANIFEST_BYTES_MAX: usize = 2 * 1024 * 1024;
const NAME_BYTES_MAX: usize = 255;
/// The longest line: a kind, a name, an offset of up to 20 digits, spaces and newline.
const LINE_BYTES_MAX: usize = 4 + NAME_BYTES_MAX + 20 + 3;

// Every manifest the node may write can be read back.
const _: () = assert!((TAIL_FILES_MAX + 3) * LINE_BYTES_MAX <= MANIFEST_BYTES_MAX);

/// One file the manifest names, and the logical offset where its bytes stand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    pub name: String,
    /// The base's offset, or where a tail file's bytes start.
    pub offset: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    pub base: Option<Part>,
    /// At least one, in stream order; the last one takes the appends.
    pub tails: Vec<Part>,
}

/// What a file in the data directory is, judged by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Legacy,
    Tail(u64),
    Base(u64),
    /// A base being written; never named by a manifest.
    TempBase(u64),
    ManifestTmp,
}

pub fn tail_name(seq: u64) -> String {
    format!("{PREFIX}{seq}.incr")
}

pub fn base_name(seq: u64) -> String {
    format!("{PREFIX}{seq}.base")
}

pub fn temp_base_name(seq: u64) -> String {
    format!("{PREFIX}{seq}.base.tmp")
}

/// The kind of an AOF file by its name; `None` for files that are not the AOF's (the
/// metadata, anything a user put there), which the node never deletes.
pub fn classify(name: &str) -> Option<FileKind> {
    if name == LEGACY_AOF_FILE_NAME {
        return Some(FileKind::Legacy);
    }
    if name == MANIFEST_TMP_FILE_NAME {
        return Some(FileKind::ManifestTmp);
    }
    let rest = name.strip_prefix(PREFIX)?;
    let (seq, suffix) = rest.split_once('.')?;
    if seq.is_empty() || !seq.bytes().all(|b| b.is_ascii_digit()) || seq.starts_with('0') {
        return None;
    }
    let seq: u64 = seq.parse().ok()?;
    match suffix {
        "incr" => Some(FileKind::Tail(seq)),
        "base" => Some(FileKind::Base(seq)),
        "base.tmp" => Some(FileKind::TempBase(seq)),
        _ => None,
    }
}

impl Manifest {
    /// Every file name the manifest holds.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.base.iter().chain(&self.tails).map(|p| p.name.as_str())
    }

    /// The sequence number after every one the manifest names.
    pub fn next_seq(&self) -> u64 {
        let seq = |name: &str| match classify(name) {
            Some(FileKind::Tail(seq) | FileKind::Base(seq)) => seq,
            _ => 0,
        };
        self.names().map(seq).max().unwrap_or(0) + 1
    }

    pub fn encode(&self) -> Vec<u8> {
        debug_assert_eq!(self.check(), Ok(()), "the node only writes sound manifests");
        let mut text = format!("{HEADER}\n");
        if let Some(base) = &self.base {
            text.push_str(&format!("base {} {}\n", base.name, base.offset));
        }
        for tail in &self.tails {
            text.push_str(&format!("tail {} {}\n", tail.name, tail.offset));
        }
        let crc = crc32fast::hash(text.as_bytes());
        text.push_str(&format!("crc32 {crc:08x}\n"));
        text.into_bytes()
    }

    /// Parse and check a manifest; the error says what is wrong with it.
    pub fn decode(bytes: &[u8]) -> Result<Manifest, String> {
        if bytes.len() > MANIFEST_BYTES_MAX {
            return Err(format!("longer than {MANIFEST_BYTES_MAX} bytes"));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
        let body = check_crc(text)?;
        let mut lines = body.lines();
        if lines.next() != Some(HEADER) {
            return Err(format!("the first line is not `{HEADER}`"));
        }
        let mut manifest = Manifest {
            base: None,
            tails: Vec::new(),
        };
        for (i, line) in lines.enumerate() {
            let line_number = i + 2;
            let (kind, part) = parse_line(line).map_err(|e| format!("line {line_number}: {e}"))?;
            match kind {
                "base" if manifest.base.is_none() && manifest.tails.is_empty() => {
                    manifest.base = Some(part);
                }
                "tail" => manifest.tails.push(part),
                _ => return Err(format!("line {line_number}: `{kind}` out of place")),
            }
        }
        manifest.check()?;
        Ok(manifest)
    }

    /// The rules every manifest keeps.
    fn check(&self) -> Result<(), String> {
        let Some(first) = self.tails.first() else {
            return Err("no tail file".to_string());
        };
        if self.tails.len() > TAIL_FILES_MAX {
            return Err(format!("more than {TAIL_FILES_MAX} tail files"));
        }
        if let Some(base) = &self.base {
            if !matches!(classify(&base.name), Some(FileKind::Base(_))) {
                return Err(format!("`{}` is not a base file's name", base.name));
            }
        }
        let base_offset = self.base.as_ref().map_or(0, |b| b.offset);
        if first.offset != base_offset {
            return Err(format!(
                "the first tail starts at {}, not at the base's offset {base_offset}",
                first.offset
            ));
        }
        for (i, tail) in self.tails.iter().enumerate() {
            if !matches!(
                classify(&tail.name),
                Some(FileKind::Tail(_) | FileKind::Legacy)
            ) {
                return Err(format!("`{}` is not a tail file's name", tail.name));
            }
            if i > 0 && tail.offset < self.tails[i - 1].offset {
                return Err(format!("`{}` starts before the tail before it", tail.name));
            }
        }
        let mut names: Vec<&str> = self.names().collect();
        names.sort_unstable();
        if names.windows(2).any(|w| w[0] == w[1]) {
            return Err("a file is named twice".to_string());
        }
        Ok(())
    }
}

/// The text before the checksum line, if the checksum matches it.
fn check_crc(text: &str) -> Result<&str, String> {
    let without_newline = text
        .strip_suffix('\n')
        .ok_or("does not end with a newline")?;
    let at = without_newline.rfind('\n').map_or(0, |i| i + 1);
    let (body, last) = text.split_at(at);
    let hex = last
        .strip_prefix("crc32 ")
        .and_then(|rest| rest.strip_suffix('\n'))
        .filter(|hex| hex.len() == 8 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
        .ok_or("the last line is not `crc32 <8 lowercase hex digits>`")?;
    let want = u32::from_str_radix(hex, 16).expect("checked: 8 hex digits");
    if crc32fast::hash(body.as_bytes()) != want {
        return Err("checksum mismatch".to_string());
    }
    Ok(body)
}

/// `<kind> <name> <offset>`.
fn parse_line(line: &str) -> Result<(&str, Part), String> {
    let fields: Vec<&str> = line.split(' ').collect();
    let [kind, name, offset] = fields[..] else {
        return Err("expected `<base|tail> <file name> <offset>`".to_string());
    };
    if name.is_empty() || name.len() > NAME_BYTES_MAX || name.contains('/') {
        return Err(format!("bad file name `{name}`"));
    }
    let offset: u64 = offset
        .parse()
        .map_err(|_| format!("bad offset `{offset}`"))?;
    let part = Part {
        name: name.to_string(),
        offset,
    };
    Ok((kind, part))
}

/// Read the manifest in `dir`: `None` if there is none. A manifest that cannot be read
/// or is corrupt stops the start: the error names the file.
pub fn read(dir: &Path) -> Result<Option<Manifest>, String> {
    let path = dir.join(MANIFEST_FILE_NAME);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "{}: cannot read the AOF manifest: {e}",
                path.display()
            ))
        }
    };
    Manifest::decode(&bytes)
        .map(Some)
        .map_err(|e| format!("{}: the AOF manifest is corrupt: {e}", path.display()))
}

/// Replace the manifest in `dir` atomically and durably.
pub fn write(dir: &Path, manifest: &Manifest) -> io::Result<()> {
    fsio::write_atomically(
        dir,
        MANIFEST_FILE_NAME,
        MANIFEST_TMP_FILE_NAME,
        &manifest.encode(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            base: Some(Part {
                name: base_name(3),
                offset: 1000,
            }),
            tails: vec![
                Part {
                    name: tail_name(4),
                    offset: 1000,
                },
                Part {
                    name: tail_name(5),
                    offset: 1000,
                },
                Part {
                    name: tail_name(6),
                    offset: 4096,
                },
            ],
        }
    }

    #[test]
    fn round_trip() {
        for manifest in [
            sample(),
            Manifest {
                base: None,
                tails: vec![Part {
                    name: LEGACY_AOF_FILE_NAME.into(),
                    offset: 0,
                }],
            },
        ] {
            let bytes = manifest.encode();
            assert_eq!(Manifest::decode(&bytes), Ok(manifest.clone()));
        }
        let text = String::from_utf8(sample().encode()).unwrap();
        assert!(text.starts_with("bucket-aof-manifest 1\nbase appendonly.aof.3.base 1000\n"));
        assert_eq!(sample().next_seq(), 7);
    }

    /// Every flipped byte and every cut is caught, by the checksum or the framing.
    #[test]
    fn any_damage_is_detected() {
        let bytes = sample().encode();
        for i in 0..bytes.len() {
            for bit in [0x01u8, 0x20, 0x80] {
                let mut damaged = bytes.clone();
                damaged[i] ^= bit;
                assert!(Manifest::decode(&damaged).is_err(), "byte {i} ^ {bit:#x}");
            }
        }
        for len in 0..bytes.len() {
            assert!(Manifest::decode(&bytes[..len]).is_err(), "cut at {len}");
        }
    }

    /// Manifests whose checksum is right but whose contents break a rule.
    #[test]
    fn unsound_manifests_are_refused() {
        let with_crc = |body: &str| {
            let body = format!("bucket-aof-manifest 1\n{body}");
            format!("{body}crc32 {:08x}\n", crc32fast::hash(body.as_bytes())).into_bytes()
        };
        let cases = [
            ("", "no tail file"),
            ("tail appendonly.aof.1.incr 5\n", "not at the base's offset"),
            (
                "base appendonly.aof.1.base 5\ntail appendonly.aof.2.incr 4\n",
                "not at the base's offset",
            ),
            (
                "tail appendonly.aof.1.incr 0\nbase appendonly.aof.2.base 0\n",
                "out of place",
            ),
            (
                "tail appendonly.aof.2.incr 0\ntail appendonly.aof.3.incr 9\ntail appendonly.aof.4.incr 8\n",
                "starts before",
            ),
            ("tail ../etc/passwd 0\n", "bad file name"),
            ("tail notes.txt 0\n", "not a tail file's name"),
            ("base appendonly.aof.1.incr 0\ntail appendonly.aof.2.incr 0\n", "not a base"),
            ("tail appendonly.aof.1.incr 0\ntail appendonly.aof.1.incr 0\n", "named twice"),
            ("tail appendonly.aof.1.incr -1\n", "bad offset"),
            ("tail appendonly.aof.1.incr 0 extra\n", "expected"),
            ("snapshot appendonly.aof.1.incr 0\n", "out of place"),
        ];
        for (i, (body, want)) in cases.iter().enumerate() {
            let error = Manifest::decode(&with_crc(body)).unwrap_err();
            assert!(error.contains(want), "#{i}: {error:?}, want {want:?}");
        }
    }

    #[test]
    fn names_are_classified() {
        let cases = [
            ("appendonly.aof", Some(FileKind::Legacy)),
            ("appendonly.aof.12.incr", Some(FileKind::Tail(12))),
            ("appendonly.aof.3.base", Some(FileKind::Base(3))),
            ("appendonly.aof.3.base.tmp", Some(FileKind::TempBase(3))),
            ("manifest.tmp", Some(FileKind::ManifestTmp)),
            ("manifest", None),
            ("meta", None),
            ("appendonly.aof.03.incr", None),
            ("appendonly.aof.x.incr", None),
            ("appendonly.aof.1.rdb", None),
        ];
        for (i, (name, want)) in cases.iter().enumerate() {
            assert_eq!(classify(name), *want, "#{i}: {name}");
        }
        assert_eq!(classify(&tail_name(9)), Some(FileKind::Tail(9)));
        assert_eq!(classify(&base_name(9)), Some(FileKind::Base(9)));
        assert_eq!(classify(&temp_base_name(9)), Some(FileKind::TempBase(9)));
    }

    #[test]
    fn read_names_the_file() {
        let dir = crate::fsio::test_dir("manifest");
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(read(&dir), Ok(None));
        write(&dir, &sample()).unwrap();
        assert_eq!(read(&dir), Ok(Some(sample())));
        assert!(!dir.join(MANIFEST_TMP_FILE_NAME).exists());
        std::fs::write(dir.join(MANIFEST_FILE_NAME), b"garbage\n").unwrap();
        let error = read(&dir).unwrap_err();
        let path = dir.join(MANIFEST_FILE_NAME);
        assert!(
            error.starts_with(&format!("{}: ", path.display())),
            "{error}"
        );
        assert!(error.contains("corrupt"), "{error}");
    }
}
