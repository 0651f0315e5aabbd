//! Operations on collections of `(key, value)` pairs: aggregations, grouping, joins, sorting.

use std::collections::HashMap;
use std::rc::Rc;

use morpheus_engine::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::rdd::{Item, Key, Rdd};
use crate::shuffle::{Combiner, Partitioning, Shuffle};

/// A value from the left or the right input of a cogroup.
#[derive(Clone, Debug, Serialize, Deserialize)]
enum Side<V, W> {
    L(V),
    R(W),
}

impl<K: Key, V: Item> Rdd<(K, V)> {
    /// Applies `f` to each value.
    pub fn map_values<U: Item>(&self, f: impl Fn(V) -> U + 'static) -> Rdd<(K, U)> {
        self.map(move |(k, v)| (k, f(v)))
    }

    /// Applies `f` to each value and pairs each result with the key.
    pub fn flat_map_values<U: Item, I: IntoIterator<Item = U>>(
        &self,
        f: impl Fn(V) -> I + 'static,
    ) -> Rdd<(K, U)> {
        self.flat_map(move |(k, v)| {
            f(v).into_iter()
                .map(move |u| (k.clone(), u))
                .collect::<Vec<_>>()
        })
    }

    /// The keys.
    pub fn keys(&self) -> Rdd<K> {
        self.map(|(k, _)| k)
    }

    /// The values.
    pub fn values(&self) -> Rdd<V> {
        self.map(|(_, v)| v)
    }

    /// The general aggregation: per key, `create` the first value's combiner, `merge_value`
    /// further values into it (map side and reduce side), and `merge` combiners. Output has
    /// `partitions` hash partitions (0: as many as the input).
    pub fn combine_by_key<C: Item>(
        &self,
        create: impl Fn(V) -> C + 'static,
        merge_value: impl Fn(&mut C, V) + 'static,
        merge: impl Fn(&mut C, C) + 'static,
        partitions: usize,
    ) -> Rdd<(K, C)> {
        self.combine_by_key_core(create, merge_value, merge, partitions, true)
    }

    /// [`Rdd::combine_by_key`] with the knowledge of whether merging grows a combiner.
    fn combine_by_key_core<C: Item>(
        &self,
        create: impl Fn(V) -> C + 'static,
        merge_value: impl Fn(&mut C, V) + 'static,
        merge: impl Fn(&mut C, C) + 'static,
        partitions: usize,
        grows: bool,
    ) -> Rdd<(K, C)> {
        let n = if partitions == 0 {
            self.partitions()
        } else {
            partitions
        };
        let combiner = Combiner {
            create: Rc::new(create),
            merge_value: Rc::new(merge_value),
            merge: Rc::new(merge),
            grows,
        };
        Rdd::from_node(Shuffle::new(
            "combine-by-key",
            Rc::clone(&self.node),
            Partitioning::Hash(n),
            combiner,
            false,
        ))
    }

    /// Combines the values of each key with `f` (associative), map-side first.
    pub fn reduce_by_key(&self, f: impl Fn(V, V) -> V + 'static) -> Rdd<(K, V)> {
        self.reduce_by_key_with(f, 0)
    }

    /// [`Rdd::reduce_by_key`] into `partitions` partitions.
    pub fn reduce_by_key_with(
        &self,
        f: impl Fn(V, V) -> V + 'static,
        partitions: usize,
    ) -> Rdd<(K, V)> {
        let f = Rc::new(f);
        let (f1, f2) = (Rc::clone(&f), f);
        self.combine_by_key_core(
            |v| v,
            move |c: &mut V, v| replace_with(c, |old| f1(old, v)),
            move |c: &mut V, o| replace_with(c, |old| f2(old, o)),
            partitions,
            false,
        )
    }

    /// Per key, folds values with `seq` from `zero` and combines partials with `comb`.
    pub fn aggregate_by_key<U: Item>(
        &self,
        zero: U,
        seq: impl Fn(U, V) -> U + 'static,
        comb: impl Fn(U, U) -> U + 'static,
    ) -> Rdd<(K, U)> {
        let seq = Rc::new(seq);
        let s2 = Rc::clone(&seq);
        self.combine_by_key(
            move |v| seq(zero.clone(), v),
            move |c: &mut U, v| replace_with(c, |old| s2(old, v)),
            move |c: &mut U, o| replace_with(c, |old| comb(old, o)),
            0,
        )
    }

    /// Per key, folds values with `f` starting from `zero`.
    pub fn fold_by_key(&self, zero: V, f: impl Fn(V, V) -> V + 'static) -> Rdd<(K, V)> {
        let f = Rc::new(f);
        let f2 = Rc::clone(&f);
        self.aggregate_by_key(zero, move |a, b| f(a, b), move |a, b| f2(a, b))
    }

    /// All values of each key.
    pub fn group_by_key(&self) -> Rdd<(K, Vec<V>)> {
        let n = self.partitions();
        Rdd::from_node(Shuffle::new(
            "group-by-key",
            Rc::clone(&self.node),
            Partitioning::Hash(n),
            Combiner::collect(),
            false,
        ))
    }

    /// For each key of either input, its values in `self` and in `other`.
    pub fn cogroup<W: Item>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (Vec<V>, Vec<W>))> {
        let left = self.map(|(k, v)| (k, Side::<V, W>::L(v)));
        let right = other.map(|(k, w)| (k, Side::<V, W>::R(w)));
        let partitions = self.partitions().max(other.partitions());
        left.union(&right).combine_by_key(
            |s| match s {
                Side::L(v) => (vec![v], Vec::new()),
                Side::R(w) => (Vec::new(), vec![w]),
            },
            |c: &mut (Vec<V>, Vec<W>), s| match s {
                Side::L(v) => c.0.push(v),
                Side::R(w) => c.1.push(w),
            },
            |c: &mut (Vec<V>, Vec<W>), (mut l, mut r)| {
                c.0.append(&mut l);
                c.1.append(&mut r);
            },
            partitions,
        )
    }

    /// Inner join on the key.
    pub fn join<W: Item>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, W))> {
        self.cogroup(other).flat_map(|(k, (vs, ws))| {
            let mut out = Vec::with_capacity(vs.len() * ws.len());
            for v in &vs {
                for w in &ws {
                    out.push((k.clone(), (v.clone(), w.clone())));
                }
            }
            out
        })
    }

    /// Left outer join: every pair of `self`, with `None` where `other` lacks the key.
    pub fn left_outer_join<W: Item>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (V, Option<W>))> {
        self.cogroup(other).flat_map(|(k, (vs, ws))| {
            let mut out = Vec::new();
            for v in &vs {
                if ws.is_empty() {
                    out.push((k.clone(), (v.clone(), None)));
                }
                for w in &ws {
                    out.push((k.clone(), (v.clone(), Some(w.clone()))));
                }
            }
            out
        })
    }

    /// Right outer join: every pair of `other`, with `None` where `self` lacks the key.
    pub fn right_outer_join<W: Item>(&self, other: &Rdd<(K, W)>) -> Rdd<(K, (Option<V>, W))> {
        other.left_outer_join(self).map(|(k, (w, v))| (k, (v, w)))
    }

    /// Full outer join.
    pub fn full_outer_join<W: Item>(
        &self,
        other: &Rdd<(K, W)>,
    ) -> Rdd<(K, (Option<V>, Option<W>))> {
        self.cogroup(other).flat_map(|(k, (vs, ws))| {
            let mut out = Vec::new();
            match (vs.is_empty(), ws.is_empty()) {
                (true, _) => out.extend(ws.into_iter().map(|w| (k.clone(), (None, Some(w))))),
                (_, true) => out.extend(vs.into_iter().map(|v| (k.clone(), (Some(v), None)))),
                _ => {
                    for v in &vs {
                        for w in &ws {
                            out.push((k.clone(), (Some(v.clone()), Some(w.clone()))));
                        }
                    }
                }
            }
            out
        })
    }

    /// Sorts by key into `partitions` range partitions (0: keep the count): partition `i`
    /// holds smaller keys than partition `i + 1`, and each is sorted.
    pub fn sort_by_key(&self, ascending: bool, partitions: usize) -> Rdd<(K, V)> {
        let n = if partitions == 0 {
            self.partitions()
        } else {
            partitions
        };
        if ascending {
            self.sort_ascending(n)
        } else {
            self.map(|(k, v)| (std::cmp::Reverse(k), v))
                .sort_ascending(n)
                .map(|(std::cmp::Reverse(k), v)| (k, v))
        }
    }

    fn sort_ascending(&self, n: usize) -> Rdd<(K, V)> {
        let sorted = Shuffle::new(
            "sort-by-key",
            Rc::clone(&self.node),
            Partitioning::Range(n),
            Combiner::collect(),
            true,
        );
        Rdd::<(K, Vec<V>)>::from_node(sorted).flat_map(|(k, vs)| {
            vs.into_iter()
                .map(move |v| (k.clone(), v))
                .collect::<Vec<_>>()
        })
    }

    /// How many pairs each key has, on every worker.
    pub fn count_by_key(&self, ctx: &Context<'_>) -> Result<HashMap<K, u64>> {
        Ok(self
            .map(|(k, _)| (k, 1u64))
            .reduce_by_key(|a, b| a + b)
            .collect(ctx)?
            .into_iter()
            .collect())
    }
}

/// Replaces `*slot` by `f(old)` (the combiner signatures take `&mut C`).
fn replace_with<C: Clone>(slot: &mut C, f: impl FnOnce(C) -> C) {
    let old = slot.clone();
    *slot = f(old);
}
