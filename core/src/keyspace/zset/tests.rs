//! The sorted set against a model (a sorted vector of pairs), in both encodings.

use proptest::prelude::*;

use super::*;

fn hasher() -> SeededSipHash {
    SeededSipHash { k0: 7, k1: 9 }
}

#[derive(Clone, Debug)]
enum Op {
    Insert(u8, i8),
    Remove(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (any::<u8>(), -4i8..4).prop_map(|(m, s)| Op::Insert(m, s)),
        1 => any::<u8>().prop_map(Op::Remove),
    ]
}

/// Members from a small alphabet, so that ties in score are common; a few long ones
/// that no packed set holds.
fn member(m: u8) -> Vec<u8> {
    match m {
        250.. => vec![m; PACKED_VALUE_BYTES_MAX + 1],
        _ => format!("m{}", m % 200).into_bytes(),
    }
}

fn model_insert(model: &mut Vec<(Score, Vec<u8>)>, member: &[u8], score: f64) -> bool {
    let was = model.iter().position(|(_, m)| m == member);
    if let Some(at) = was {
        model.remove(at);
    }
    model.push((Score::new(score), member.to_vec()));
    model.sort();
    was.is_none()
}

fn check(zset: &ZSet, model: &[(Score, Vec<u8>)]) {
    zset.assert_well_formed();
    let pairs: Vec<(Vec<u8>, f64)> = zset.iter().map(|(m, s)| (m.to_vec(), s)).collect();
    let expected: Vec<(Vec<u8>, f64)> = model.iter().map(|(s, m)| (m.clone(), s.get())).collect();
    assert_eq!(pairs, expected);
    for (rank, (score, member)) in model.iter().enumerate() {
        assert_eq!(zset.rank(member), Some(rank));
        assert_eq!(zset.score(member), Some(score.get()));
        assert_eq!(
            zset.nth(rank).map(|(m, _)| m.to_vec()),
            Some(member.clone())
        );
    }
    for min in -5..5 {
        for (min_ex, max_ex) in [(false, false), (true, false), (false, true)] {
            let range = ScoreRange {
                min: f64::from(min),
                max: f64::from(min + 2),
                min_ex,
                max_ex,
            };
            let inside = |s: f64| {
                (if min_ex {
                    s > range.min
                } else {
                    s >= range.min
                }) && (if max_ex {
                    s < range.max
                } else {
                    s <= range.max
                })
            };
            let want: Vec<_> = expected
                .iter()
                .filter(|(_, s)| inside(*s))
                .cloned()
                .collect();
            let got: Vec<_> = zset
                .range_by_score(&range, false)
                .map(|(m, s)| (m.to_vec(), s))
                .collect();
            assert_eq!(got, want);
            let mut got_rev: Vec<_> = zset
                .range_by_score(&range, true)
                .map(|(m, s)| (m.to_vec(), s))
                .collect();
            got_rev.reverse();
            assert_eq!(got_rev, want);
            assert_eq!(zset.ranks_by_score(&range).len(), want.len());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_sorted_set_keeps_the_models_order_ranks_and_ranges(ops in prop::collection::vec(op(), 0..400)) {
        let mut zset = ZSet::new(hasher());
        let mut model = Vec::new();
        for op in ops {
            match op {
                Op::Insert(m, s) => {
                    let member = member(m);
                    let new = model_insert(&mut model, &member, f64::from(s));
                    prop_assert_eq!(zset.insert(&member, f64::from(s)), new);
                }
                Op::Remove(m) => {
                    let member = member(m);
                    let was = model.iter().position(|(_, x)| *x == member);
                    if let Some(at) = was {
                        model.remove(at);
                    }
                    prop_assert_eq!(zset.remove(&member), was.is_some());
                }
            }
        }
        check(&zset, &model);
    }
}

#[test]
fn a_set_is_packed_until_it_outgrows_either_bound() {
    let mut zset = ZSet::new(hasher());
    for i in 0..PACKED_ENTRIES_MAX {
        zset.insert(format!("{i:03}").as_bytes(), 1.0);
    }
    assert!(zset.is_packed());
    let packed = zset.clone();
    zset.insert(b"one more", 0.5);
    assert!(!zset.is_packed());
    assert_eq!(zset.rank(b"one more"), Some(0));
    zset.remove(b"one more");
    // Equal pairs compare equal whatever the encoding.
    assert_eq!(zset, packed);
    let mut long = ZSet::new(hasher());
    long.insert(b"short", 1.0);
    long.insert(&[b'x'; PACKED_VALUE_BYTES_MAX + 1], 2.0);
    assert!(!long.is_packed());
    assert_eq!(long.rank(b"short"), Some(0));
}

#[test]
fn a_lexicographic_range_of_one_score_goes_by_ranks() {
    let mut zset = ZSet::new(hasher());
    for m in ["a", "b", "c", "d"] {
        zset.insert(m.as_bytes(), 0.0);
    }
    let range = LexRange {
        min: LexBound::Exclusive(b"a".to_vec().into()),
        max: LexBound::Inclusive(b"c".to_vec().into()),
    };
    assert_eq!(zset.ranks_by_lex(&range), Some(1..3));
    let got: Vec<_> = zset
        .range_by_lex(&range, true)
        .map(|(m, _)| m.to_vec())
        .collect();
    assert_eq!(got, [b"c".to_vec(), b"b".to_vec()]);
    zset.insert(b"e", 1.0);
    assert_eq!(zset.ranks_by_lex(&range), None);
}

#[test]
fn a_tree_scan_visits_every_member_that_stays() {
    let mut zset = ZSet::new(hasher());
    for i in 0..1000 {
        zset.insert(format!("m{i}").as_bytes(), f64::from(i % 7));
    }
    let (mut cursor, mut seen, mut calls) = (0, std::collections::HashSet::new(), 0);
    loop {
        cursor = zset.scan(cursor, 10, |m, _| {
            seen.insert(m.to_vec());
        });
        calls += 1;
        // Churn between steps: removals and inserts of members that are not kept.
        zset.insert(format!("churn{calls}").as_bytes(), 3.5);
        zset.remove(format!("churn{}", calls - 1).as_bytes());
        if cursor == 0 || calls > 10_000 {
            break;
        }
    }
    assert!((0..1000).all(|i| seen.contains(format!("m{i}").as_bytes())));
}

#[test]
fn a_big_set_splits_and_empties_its_nodes_and_keeps_the_order() {
    // Enough members for three levels of nodes; scores with many ties.
    let mut zset = ZSet::new(hasher());
    let mut model = Vec::new();
    let mut x: u64 = 1;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for _ in 0..12_000 {
        let (m, s) = (next() % 9000, (next() % 50) as f64);
        let member = format!("m{m}").into_bytes();
        assert_eq!(
            zset.insert(&member, s),
            model_insert(&mut model, &member, s)
        );
    }
    zset.assert_well_formed();
    check_ranks(&zset, &model);
    // Remove most, from the low end and at random, so that leaves and inner nodes empty.
    let members: Vec<Vec<u8>> = model.iter().map(|(_, m)| m.clone()).collect();
    for (i, member) in members.iter().enumerate() {
        if i < members.len() / 2 || next() % 4 != 0 {
            assert!(zset.remove(member));
            model.retain(|(_, m)| m != member);
        }
    }
    zset.assert_well_formed();
    check_ranks(&zset, &model);
    for (_, member) in model.clone() {
        assert!(zset.remove(&member));
    }
    assert!(zset.is_empty());
    zset.assert_well_formed();
    assert!(zset.insert(b"again", 1.0));
    assert_eq!(zset.rank(b"again"), Some(0));
}

fn check_ranks(zset: &ZSet, model: &[(Score, Vec<u8>)]) {
    let pairs: Vec<Vec<u8>> = zset.iter().map(|(m, _)| m.to_vec()).collect();
    let want: Vec<Vec<u8>> = model.iter().map(|(_, m)| m.clone()).collect();
    assert_eq!(pairs, want);
    for (rank, (_, member)) in model.iter().enumerate().step_by(37) {
        assert_eq!(zset.rank(member), Some(rank));
        assert_eq!(
            zset.nth(rank).map(|(m, _)| m.to_vec()).as_ref(),
            Some(member)
        );
        let back: Vec<_> = zset.walk(rank, true).map(|(m, _)| m.to_vec()).collect();
        assert_eq!(back.len(), rank + 1);
        assert_eq!(&back[0], member);
    }
}
