use super::*;
use proptest::prelude::*;
use std::collections::BTreeSet;

const NOW: UnixMillis = UnixMillis(1_000);

fn keyspace() -> Keyspace {
    Keyspace::new((1, 2))
}

#[test]
fn set_get_overwrite() {
    let mut ks = keyspace();
    assert!(ks.is_empty());
    assert_eq!(ks.get(b"k", NOW), None);
    ks.set(b"k", b"v1", None);
    assert_eq!(ks.len(), 1);
    let want = EntryRef {
        value: ValueRef::Str(b"v1"),
        expire_at: None,
    };
    assert_eq!(ks.get(b"k", NOW), Some(want));
    ks.set(b"k", b"value2", Some(UnixMillis(5_000)));
    assert_eq!(ks.len(), 1);
    let want = EntryRef {
        value: ValueRef::Str(b"value2"),
        expire_at: Some(UnixMillis(5_000)),
    };
    assert_eq!(ks.get(b"k", NOW), Some(want));
    // Overwrite without expiry clears it, as SET does.
    ks.set(b"k", b"v3", None);
    assert_eq!(ks.get(b"k", NOW).unwrap().expire_at, None);
}

#[test]
fn keys_and_values_are_binary_safe() {
    let mut ks = keyspace();
    ks.set(b"", b"empty key", None);
    ks.set(b"a\0b", b"\0\xff\r\n", None);
    assert_eq!(ks.get(b"", NOW).unwrap().as_str().unwrap(), b"empty key");
    assert_eq!(
        ks.get(b"a\0b", NOW).unwrap().as_str().unwrap(),
        b"\0\xff\r\n"
    );
    assert_eq!(ks.get(b"a", NOW), None);
    assert_eq!(ks.len(), 2);
}

#[test]
fn get_hides_expired_keys_without_deleting() {
    let mut ks = keyspace();
    ks.set(b"k", b"v", Some(UnixMillis(100)));
    assert!(ks.get(b"k", UnixMillis(99)).is_some());
    // Redis: expired once now > when.
    assert!(ks.get(b"k", UnixMillis(100)).is_some());
    assert_eq!(ks.get(b"k", UnixMillis(101)), None);
    assert_eq!(ks.len(), 1);
    assert_eq!(ks.iter().count(), 1);
}

#[test]
fn set_value_keeps_expiry() {
    let mut ks = keyspace();
    assert!(!ks.set_value(b"k", b"v"));
    assert!(ks.is_empty());
    ks.set(b"k", b"1", Some(UnixMillis(5_000)));
    assert!(ks.set_value(b"k", b"2"));
    assert!(ks.set_value(b"k", b"longer"));
    let want = EntryRef {
        value: ValueRef::Str(b"longer"),
        expire_at: Some(UnixMillis(5_000)),
    };
    assert_eq!(ks.get(b"k", NOW), Some(want));
}

#[test]
fn remove_and_clear() {
    let mut ks = keyspace();
    assert!(!ks.remove(b"k"));
    ks.set(b"a", b"1", None);
    ks.set(b"b", b"2", None);
    ks.set(b"c", b"3", Some(UnixMillis(1)));
    assert!(ks.remove(b"a"));
    assert!(!ks.remove(b"a"));
    // Removing an expired key still reports that it was stored.
    assert!(ks.remove(b"c"));
    assert_eq!(ks.len(), 1);
    assert_eq!(ks.get(b"b", NOW).unwrap().as_str().unwrap(), b"2");
    ks.clear();
    assert!(ks.is_empty());
    assert_eq!(ks.get(b"b", NOW), None);
}

#[test]
fn set_expiry_and_persist() {
    let mut ks = keyspace();
    assert!(!ks.set_expiry(b"k", Some(UnixMillis(10))));
    ks.set(b"k", b"v", None);
    assert!(ks.set_expiry(b"k", Some(UnixMillis(2_000))));
    assert_eq!(
        ks.get(b"k", NOW).unwrap().expire_at,
        Some(UnixMillis(2_000))
    );
    assert_eq!(ks.get(b"k", UnixMillis(2_001)), None);
    assert!(ks.set_expiry(b"k", None));
    assert_eq!(ks.get(b"k", UnixMillis(2_001)).unwrap().expire_at, None);
}

#[test]
#[should_panic(expected = "reserved")]
fn expiry_at_epoch_is_a_bug() {
    keyspace().set(b"k", b"v", Some(UnixMillis(0)));
}

#[test]
fn collect_expired_is_bounded_and_wraps_around() {
    let mut ks = keyspace();
    for i in 0..10u8 {
        // Even keys expire at 100, odd keys never.
        let expire_at = (i % 2 == 0).then_some(UnixMillis(100));
        ks.set(&[i], b"v", expire_at);
    }
    let now = UnixMillis(200);
    let mut out = Vec::new();
    ks.collect_expired(now, 3, &mut out);
    assert!(out.len() <= 3);
    let mut seen: BTreeSet<Box<[u8]>> = out.iter().cloned().collect();
    // Three more calls of three cover the remaining seven entries and wrap around.
    for _ in 0..3 {
        let len_before = out.len();
        ks.collect_expired(now, 3, &mut out);
        assert!(out.len() - len_before <= 3);
        seen.extend(out[len_before..].iter().cloned());
    }
    let want: BTreeSet<Box<[u8]>> = (0..10u8).step_by(2).map(|i| Box::from([i])).collect();
    assert_eq!(seen, want);
    // Nothing is deleted, and nothing is expired before its time.
    assert_eq!(ks.len(), 10);
    out.clear();
    ks.collect_expired(UnixMillis(100), 100, &mut out);
    assert!(out.is_empty());
}

#[test]
fn collect_expired_budget_above_len_reports_each_key_once() {
    let mut ks = keyspace();
    ks.set(b"a", b"v", Some(UnixMillis(1)));
    ks.set(b"b", b"v", Some(UnixMillis(1)));
    let mut out = Vec::new();
    ks.collect_expired(NOW, 100, &mut out);
    out.sort();
    assert_eq!(out, vec![Box::from(&b"a"[..]), Box::from(&b"b"[..])]);
    // After deleting, a sweep cursor past the end restarts at zero.
    for key in &out {
        assert!(ks.remove(key));
    }
    out.clear();
    ks.collect_expired(NOW, 100, &mut out);
    assert!(out.is_empty());
    ks.set(b"c", b"v", Some(UnixMillis(1)));
    ks.collect_expired(NOW, 1, &mut out);
    assert_eq!(out, vec![Box::from(&b"c"[..])]);
}

#[test]
fn scan_returns_every_live_match_and_ends_at_zero() {
    let mut ks = keyspace();
    for i in 0..25u32 {
        ks.set(format!("key:{i}").as_bytes(), b"v", None);
    }
    ks.set(b"other", b"v", None);
    ks.set(b"key:expired", b"v", Some(UnixMillis(1)));
    let mut out = Vec::new();
    let mut cursor = 0;
    let mut calls = 0;
    loop {
        cursor = ks.scan(cursor, 4, Some(b"key:*"), NOW, &mut out);
        calls += 1;
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(calls, 7); // 27 slots, 4 per call.
    out.sort();
    let mut want: Vec<Vec<u8>> = (0..25u32)
        .map(|i| format!("key:{i}").into_bytes())
        .collect();
    want.sort();
    assert_eq!(out, want);
}

#[test]
fn scan_of_empty_keyspace_and_odd_cursors() {
    let mut ks = keyspace();
    let mut out = Vec::new();
    assert_eq!(ks.scan(0, 10, None, NOW, &mut out), 0);
    assert_eq!(ks.scan(u64::MAX, 10, None, NOW, &mut out), 0);
    ks.set(b"a", b"v", None);
    // Count zero still makes progress; a cursor past the segments ends the scan.
    assert_eq!(ks.scan(0, 0, None, NOW, &mut out), 0);
    assert_eq!(ks.scan(u64::MAX, 10, None, NOW, &mut out), 0);
    assert_eq!(out, vec![b"a".to_vec()]);
}

#[test]
fn keys_skip_expired() {
    let mut ks = keyspace();
    ks.set(b"b1", b"v", None);
    ks.set(b"a1", b"v", None);
    ks.set(b"b2", b"v", Some(UnixMillis(1)));
    ks.set(b"b3", b"v", None);
    ks.set(b"", b"v", None);
    let mut out = Vec::new();
    ks.keys(b"b*", NOW, &mut out);
    out.sort();
    assert_eq!(out, vec![b"b1".to_vec(), b"b3".to_vec()]);
    out.clear();
    ks.keys(b"*", NOW, &mut out);
    out.sort();
    let want: Vec<Vec<u8>> = vec![vec![], b"a1".to_vec(), b"b1".to_vec(), b"b3".to_vec()];
    assert_eq!(out, want);
}

#[test]
fn digest_ignores_order_and_hash_keys() {
    let mut a = Keyspace::new((1, 2));
    let mut b = Keyspace::new((3, 4));
    a.set(b"x", b"1", None);
    a.set(b"y", b"2", Some(UnixMillis(9)));
    b.set(b"y", b"2", Some(UnixMillis(9)));
    b.set(b"x", b"1", None);
    assert_eq!(a.digest(), b.digest());
    assert_eq!(Keyspace::new((5, 6)).digest(), 0);
    b.set_expiry(b"y", Some(UnixMillis(10)));
    assert_ne!(a.digest(), b.digest());
    b.set_expiry(b"y", Some(UnixMillis(9)));
    b.set_value(b"x", b"2");
    assert_ne!(a.digest(), b.digest());
    // Key/value boundaries are part of the digest.
    let mut c = keyspace();
    let mut d = keyspace();
    c.set(b"ab", b"c", None);
    d.set(b"a", b"bc", None);
    assert_ne!(c.digest(), d.digest());
}

#[test]
fn glob_cases() {
    // (pattern, string, want), mostly from Redis's util.c tests and keyspace tests.
    let cases: &[(&[u8], &[u8], bool)] = &[
        (b"*", b"anything", true),
        (b"*", b"", false),
        (b"", b"", true),
        (b"", b"a", false),
        (b"a*", b"a", true),
        (b"a*", b"abc", true),
        (b"*c", b"abc", true),
        (b"*c", b"abd", false),
        (b"a*b*c", b"aXbYc", true),
        (b"a*b*c", b"aXbYd", false),
        (b"a**c", b"ac", true),
        (b"h?llo", b"hello", true),
        (b"h?llo", b"hllo", false),
        (b"h*llo", b"heeeello", true),
        (b"h[ae]llo", b"hello", true),
        (b"h[ae]llo", b"hallo", true),
        (b"h[ae]llo", b"hillo", false),
        (b"h[^e]llo", b"hallo", true),
        (b"h[^e]llo", b"hello", false),
        (b"h[a-b]llo", b"hbllo", true),
        (b"h[a-b]llo", b"hcllo", false),
        (b"h[b-a]llo", b"hallo", true),
        (b"h[\\]]llo", b"h]llo", true),
        (b"h[\\-]llo", b"h-llo", true),
        (b"h\\*llo", b"h*llo", true),
        (b"h\\*llo", b"hello", false),
        (b"\\", b"\\", true),
        (b"a\\", b"a\\", true),
        (b"[", b"a", false),
        (b"[abc", b"b", true),
        (b"[abc", b"d", false),
        (b"[^", b"x", true),
        (b"[a-", b"-", true),
        (b"[a-", b"b", false),
        (b"[]", b"a", false),
        (b"*[", b"ab", false),
        (b"?", b"", false),
        (b"???", b"ab", false),
        (
            b"*a*a*a*a*a*a*a*a*b",
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            false,
        ),
        (b"*?", b"a", true),
        (b"*?*", b"", false),
        (b"user:*:name", b"user:1000:name", true),
        (b"user:*:name", b"user:1000:email", false),
    ];
    for (i, (pattern, s, want)) in cases.iter().enumerate() {
        let got = glob_match(pattern, s);
        assert_eq!(
            got,
            *want,
            "#{i}: glob_match({:?}, {:?}) = {got}, want {want}",
            String::from_utf8_lossy(pattern),
            String::from_utf8_lossy(s),
        );
    }
}

/// Plain recursive glob without sets or escapes, as a reference for the iterative one.
fn glob_reference(pattern: &[u8], s: &[u8]) -> bool {
    match (pattern.first(), s.first()) {
        (None, _) => s.is_empty(),
        (Some(b'*'), _) => {
            glob_reference(&pattern[1..], s) || (!s.is_empty() && glob_reference(pattern, &s[1..]))
        }
        (Some(_), None) => false,
        (Some(&p), Some(&c)) => (p == b'?' || p == c) && glob_reference(&pattern[1..], &s[1..]),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn glob_never_panics(pattern in proptest::collection::vec(any::<u8>(), 0..12),
                         s in proptest::collection::vec(any::<u8>(), 0..12)) {
        let _ = glob_match(&pattern, &s);
    }

    #[test]
    fn glob_agrees_with_reference(pattern in "[ab*?]{0,8}", s in "[ab]{1,8}") {
        let want = glob_reference(pattern.as_bytes(), s.as_bytes());
        prop_assert_eq!(glob_match(pattern.as_bytes(), s.as_bytes()), want);
    }
}

#[derive(Clone, Debug)]
enum ScanStep {
    Scan { count: usize },
    Insert { key: u16 },
    Delete { pick: usize },
    Overwrite { pick: usize },
}

fn scan_step() -> impl Strategy<Value = ScanStep> {
    prop_oneof![
        3 => (1usize..6).prop_map(|count| ScanStep::Scan { count }),
        1 => (1000u16..2000).prop_map(|key| ScanStep::Insert { key }),
        2 => any::<usize>().prop_map(|pick| ScanStep::Delete { pick }),
        1 => any::<usize>().prop_map(|pick| ScanStep::Overwrite { pick }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// A key stored for the whole scan is returned at least once, whatever inserts,
    /// deletes and overwrites happen between calls.
    #[test]
    fn scan_returns_keys_present_throughout(
        initial in 0u16..60,
        steps in proptest::collection::vec(scan_step(), 1..80),
    ) {
        let mut ks = Keyspace::new((7, 8));
        for i in 0..initial {
            ks.set(&i.to_le_bytes(), b"v", None);
        }
        let mut present: BTreeSet<Vec<u8>> = ks.iter().map(|(k, _)| k.to_vec()).collect();
        let mut returned = BTreeSet::new();
        let mut out = Vec::new();
        let mut cursor = 0u64;
        let mut started = false;
        let mut done = false;
        let steps_then_scans = steps.into_iter().chain(std::iter::repeat(ScanStep::Scan { count: 3 }));
        for step in steps_then_scans.take(2_000) {
            match step {
                ScanStep::Scan { count } => {
                    out.clear();
                    cursor = ks.scan(cursor, count, None, NOW, &mut out);
                    started = true;
                    returned.extend(out.iter().cloned());
                    if cursor == 0 {
                        done = true;
                        break;
                    }
                }
                ScanStep::Insert { key } => ks.set(&key.to_le_bytes(), b"new", None),
                ScanStep::Delete { pick } if !ks.is_empty() => {
                    let key = ks.iter().nth(pick % ks.len()).unwrap().0.to_vec();
                    ks.remove(&key);
                    present.remove(&key);
                }
                ScanStep::Overwrite { pick } if !ks.is_empty() => {
                    let key = ks.iter().nth(pick % ks.len()).unwrap().0.to_vec();
                    ks.set(&key, b"overwritten", None);
                }
                ScanStep::Delete { .. } | ScanStep::Overwrite { .. } => {}
            }
        }
        prop_assert!(started && done, "scan must terminate");
        let missing: Vec<_> = present.difference(&returned).collect();
        prop_assert!(missing.is_empty(), "missing keys: {:?}", missing);
    }
}

/// One change applied during a snapshot.
#[derive(Clone, Debug)]
enum Change {
    Set(u8, u8, bool),
    SetValue(u8, u8),
    Remove(u8),
    Expire(u8, Option<u8>),
    Slice(u8),
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0u8..24, any::<u8>(), any::<bool>()).prop_map(|(k, v, e)| Change::Set(k, v, e)),
        (0u8..24, any::<u8>()).prop_map(|(k, v)| Change::SetValue(k, v)),
        (0u8..24).prop_map(Change::Remove),
        (0u8..24, proptest::option::of(1u8..)).prop_map(|(k, at)| Change::Expire(k, at)),
        (0u8..5).prop_map(Change::Slice),
    ]
}

type Contents = BTreeSet<(Vec<u8>, Vec<u8>, Option<UnixMillis>)>;

fn contents(keyspace: &Keyspace) -> Contents {
    keyspace
        .iter()
        .map(|(k, e)| (k.to_vec(), e.as_str().unwrap().to_vec(), e.expire_at))
        .collect()
}

/// Decode the entries of snapshot slices back into contents.
fn decode_slices(slices: &[SnapshotSlice]) -> Vec<(Vec<u8>, Vec<u8>, Option<UnixMillis>)> {
    let mut bytes = Vec::new();
    let header = crate::aof::base::BaseHeader {
        offset: crate::ids::Offset(0),
        last_term: crate::ids::Term(0),
        reigns: Vec::new(),
    };
    crate::aof::base::encode_start(&header, &mut bytes);
    let mut total = 0;
    for slice in slices {
        crate::aof::base::encode_entries(slice.count, &slice.entries, &mut bytes);
        total += u64::from(slice.count);
    }
    crate::aof::base::encode_end(total, &mut bytes);
    let mut out = Vec::new();
    crate::aof::base::decode(&bytes, &mut |e| {
        out.push((
            e.key.to_vec(),
            e.value.as_str().unwrap().to_vec(),
            e.expire_at,
        ));
        Ok(())
    })
    .unwrap();
    out
}

fn apply_change(keyspace: &mut Keyspace, change: &Change, slices: &mut Vec<SnapshotSlice>) {
    let key = |k: u8| vec![b'k', k];
    match *change {
        Change::Set(k, v, e) => keyspace.set(&key(k), &[v], e.then_some(UnixMillis(5_000))),
        Change::SetValue(k, v) => {
            keyspace.set_value(&key(k), &[v, v]);
        }
        Change::Remove(k) => {
            keyspace.remove(&key(k));
        }
        Change::Expire(k, at) => {
            keyspace.set_expiry(&key(k), at.map(|a| UnixMillis(u64::from(a))));
        }
        Change::Slice(budget) if keyspace.snapshot_running() => {
            slices.push(keyspace.snapshot_slice(usize::from(budget)));
        }
        Change::Slice(_) => {}
    }
}

proptest! {
    /// Whatever changes land between slices, a snapshot holds each key once, with its
    /// value and expiry at the cut, and no key born after it.
    #[test]
    fn a_snapshot_is_the_keyspace_at_its_cut(
        before in proptest::collection::vec(change(), 0..60),
        during in proptest::collection::vec(change(), 0..120),
        second in proptest::collection::vec(change(), 0..60),
    ) {
        let mut keyspace = Keyspace::new((1, 2));
        let mut ignored = Vec::new();
        for round in [&before, &second] {
            for c in round.iter() {
                apply_change(&mut keyspace, c, &mut ignored);
            }
            let at_cut = contents(&keyspace);
            keyspace.begin_snapshot();
            let mut slices = Vec::new();
            for c in &during {
                apply_change(&mut keyspace, c, &mut slices);
            }
            for _ in 0..1000 {
                if !keyspace.snapshot_running() {
                    break;
                }
                slices.push(keyspace.snapshot_slice(3));
            }
            prop_assert!(!keyspace.snapshot_running());
            let written = decode_slices(&slices);
            let as_set: Contents = written.iter().cloned().collect();
            prop_assert_eq!(written.len(), as_set.len(), "each key written once");
            prop_assert_eq!(as_set, at_cut);
        }
    }
}

#[test]
fn clear_gives_a_snapshot_up() {
    let mut keyspace = Keyspace::new((1, 2));
    keyspace.set(b"a", b"1", None);
    keyspace.begin_snapshot();
    keyspace.clear();
    assert!(!keyspace.snapshot_running());
    keyspace.set(b"b", b"2", None);
    keyspace.begin_snapshot();
    let slice = keyspace.snapshot_slice(10);
    assert!(slice.done);
    assert_eq!(slice.count, 1);
}

#[test]
fn an_abandoned_snapshot_leaves_the_next_one_whole() {
    let mut keyspace = Keyspace::new((1, 2));
    for k in 0..10u8 {
        keyspace.set(&[k], b"v", None);
    }
    keyspace.begin_snapshot();
    keyspace.snapshot_slice(4);
    keyspace.abandon_snapshot();
    keyspace.begin_snapshot();
    let slice = keyspace.snapshot_slice(100);
    assert!(slice.done);
    assert_eq!(slice.written_total, 10);
}

/// The table's own cost per key stays near its design (a 16-byte pointer, and a 4-byte
/// index slot with its control byte at hashbrown's load), whatever the number of keys.
#[test]
fn the_table_costs_about_30_bytes_a_key() {
    let mut ks = keyspace();
    for n in [1_000usize, 30_000, 100_000] {
        while ks.len() < n {
            ks.set(format!("key:{:012}", ks.len()).as_bytes(), b"v", None);
        }
        let per_key = ks.overhead_bytes() / n;
        assert!(per_key <= 40, "{per_key} bytes a key at {n} keys");
    }
}
