//! Weakly connected components under arc insertions and deletions.
//!
//! Each vertex holds the slot of its component's smallest id. Insertions merge components
//! through a union-find over those labels. Deletions start one search from every live
//! endpoint of a deleted arc, grouped by component, and run the searches in lockstep:
//! searches that meet merge, a search that runs out of vertices has found a whole component
//! (which gets its own label), and the round ends as soon as at most one search is left
//! running. Split-off pieces are usually small, so a deletion costs about the size of what it
//! separates, not the size of the component.

use std::collections::{HashMap, VecDeque};

use super::dyngraph::{DynGraph, NONE};

/// Component labels (slot of the smallest id; [`NONE`] for deleted vertices).
#[derive(Clone, Debug, Default)]
pub struct Wcc {
    pub(crate) label: Vec<u32>,
    /// Scratch: which search owns a slot ([`NONE`] when untouched).
    owner: Vec<u32>,
}

fn find(parent: &mut HashMap<u32, u32>, x: u32) -> u32 {
    let mut r = x;
    while let Some(&p) = parent.get(&r) {
        if p == r {
            break;
        }
        r = p;
    }
    let mut c = x;
    while c != r {
        let next = parent[&c];
        parent.insert(c, r);
        c = next;
    }
    r
}

struct Search {
    queue: VecDeque<u32>,
    members: Vec<u32>,
}

impl Wcc {
    /// Components of `g` from scratch.
    pub fn build(g: &DynGraph) -> Self {
        let n = g.slots();
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn root(p: &mut [u32], mut x: u32) -> u32 {
            while p[x as usize] != x {
                p[x as usize] = p[p[x as usize] as usize];
                x = p[x as usize];
            }
            x
        }
        for v in 0..n as u32 {
            for &t in g.out(v) {
                let (a, b) = (root(&mut parent, v), root(&mut parent, t));
                if a != b {
                    // The root is the smaller id.
                    if g.id(a) < g.id(b) {
                        parent[b as usize] = a;
                    } else {
                        parent[a as usize] = b;
                    }
                }
            }
        }
        let label = (0..n as u32)
            .map(|v| {
                if g.is_alive(v) {
                    root(&mut parent, v)
                } else {
                    NONE
                }
            })
            .collect();
        Wcc {
            label,
            owner: vec![NONE; n],
        }
    }

    /// Labels from a saved state.
    pub(crate) fn from_labels(label: Vec<u32>) -> Self {
        let n = label.len();
        Wcc {
            label,
            owner: vec![NONE; n],
        }
    }

    fn grow(&mut self, n: usize) {
        if self.label.len() < n {
            self.label.resize(n, NONE);
            self.owner.resize(n, NONE);
        }
    }

    /// After `arcs` (and every arc of `dead` vertices) were removed from `g`. Returns the
    /// number of vertices the searches visited.
    pub fn deleted(&mut self, g: &DynGraph, arcs: &[(u32, u32, f64)], dead: &[u32]) -> u64 {
        self.grow(g.slots());
        let mut lost_min: Vec<u32> = Vec::new();
        for &x in dead {
            let l = self.label[x as usize];
            if l == x {
                lost_min.push(l);
            }
            self.label[x as usize] = NONE;
        }
        // Live endpoints of removed arcs, by component.
        let mut frontier: HashMap<u32, Vec<u32>> = HashMap::new();
        for &(u, v, _) in arcs {
            for x in [u, v] {
                if g.is_alive(x) {
                    frontier.entry(self.label[x as usize]).or_default().push(x);
                }
            }
        }
        let mut visited = 0u64;
        let mut exclude: Vec<u32> = Vec::new();
        let mut classes: Vec<(u32, Vec<u32>)> = frontier.into_iter().collect();
        classes.sort_unstable_by_key(|c| c.0);
        for (l, mut f) in classes {
            f.sort_unstable();
            f.dedup();
            let (done, rest, seen) = self.race(g, &f);
            visited += seen;
            for comp in &done {
                let min = *comp.iter().min_by_key(|&&v| g.id(v)).expect("non-empty");
                for &v in comp {
                    self.label[v as usize] = min;
                }
                if rest && min == l {
                    // The old smallest vertex split off: the rest needs a new label, and
                    // the scan for it must skip this piece (it keeps `l`).
                    for &v in comp {
                        self.owner[v as usize] = 0;
                    }
                    exclude.extend_from_slice(comp);
                    lost_min.push(l);
                }
            }
            // The rest keeps `l` unless its smallest vertex died.
            if rest && !g.is_alive(l) {
                lost_min.push(l);
            }
        }
        self.relabel_classes(g, lost_min);
        for v in exclude {
            self.owner[v as usize] = NONE;
        }
        visited
    }

    /// Gives the vertices still labelled with one of `lost` (labels whose vertex died or
    /// left) the slot of their component's smallest id: one pass over the labels, skipping
    /// vertices marked in `owner`.
    fn relabel_classes(&mut self, g: &DynGraph, lost: Vec<u32>) {
        if lost.is_empty() {
            return;
        }
        let mut min: HashMap<u32, u32> = lost.into_iter().map(|l| (l, NONE)).collect();
        for v in 0..self.label.len() as u32 {
            if self.owner[v as usize] != NONE {
                continue;
            }
            if let Some(m) = min.get_mut(&self.label[v as usize]) {
                if g.is_alive(v) && (*m == NONE || g.id(v) < g.id(*m)) {
                    *m = v;
                }
            }
        }
        for (v, l) in self.label.iter_mut().enumerate() {
            if self.owner[v] != NONE {
                continue;
            }
            if let Some(&m) = min.get(l) {
                *l = m;
            }
        }
    }

    /// Lockstep searches from `starts` (one component before the deletions). Returns the
    /// components found whole, whether a search was still running at the end (the rest of
    /// the old component), and the number of vertices visited.
    fn race(&mut self, g: &DynGraph, starts: &[u32]) -> (Vec<Vec<u32>>, bool, u64) {
        if starts.len() < 2 {
            return (Vec::new(), true, 0);
        }
        let mut searches: Vec<Search> = Vec::with_capacity(starts.len());
        let mut merged: HashMap<u32, u32> = HashMap::new();
        for &s in starts {
            self.owner[s as usize] = searches.len() as u32;
            searches.push(Search {
                queue: VecDeque::from([s]),
                members: vec![s],
            });
        }
        let mut running: Vec<u32> = (0..searches.len() as u32).collect();
        let mut done: Vec<Vec<u32>> = Vec::new();
        let mut visited = starts.len() as u64;
        while running.len() > 1 {
            let mut next = Vec::with_capacity(running.len());
            for &s in &running {
                if find(&mut merged, s) != s {
                    continue; // absorbed by another search this round
                }
                let mut me = s;
                let Some(v) = searches[me as usize].queue.pop_front() else {
                    done.push(std::mem::take(&mut searches[me as usize].members));
                    continue;
                };
                let mut found: Vec<u32> = Vec::new();
                g.for_each_neighbor(v, |w| found.push(w));
                for w in found {
                    if !g.is_alive(w) {
                        continue;
                    }
                    let o = self.owner[w as usize];
                    if o == NONE {
                        self.owner[w as usize] = me;
                        let sr = &mut searches[me as usize];
                        sr.queue.push_back(w);
                        sr.members.push(w);
                        visited += 1;
                        continue;
                    }
                    let other = find(&mut merged, o);
                    if other != me {
                        // Merge the smaller search into the larger.
                        let (big, small) = if searches[me as usize].members.len()
                            >= searches[other as usize].members.len()
                        {
                            (me, other)
                        } else {
                            (other, me)
                        };
                        let taken = std::mem::replace(
                            &mut searches[small as usize],
                            Search {
                                queue: VecDeque::new(),
                                members: Vec::new(),
                            },
                        );
                        let b = &mut searches[big as usize];
                        b.queue.extend(taken.queue);
                        b.members.extend(taken.members);
                        merged.insert(small, big);
                        merged.entry(big).or_insert(big);
                        me = big;
                    }
                }
                next.push(me);
            }
            next.sort_unstable();
            next.dedup();
            next.retain(|&s| find(&mut merged, s) == s);
            running = next;
        }
        let rest = !running.is_empty();
        // Reset the owners of everything touched.
        for s in &searches {
            for &v in &s.members {
                self.owner[v as usize] = NONE;
            }
        }
        for c in &done {
            for &v in c {
                self.owner[v as usize] = NONE;
            }
        }
        (done, rest, visited)
    }

    /// After `arcs` were inserted into `g` and `born` vertices added. Returns the number of
    /// components merged.
    pub fn inserted(&mut self, g: &DynGraph, arcs: &[(u32, u32, f64)], born: &[u32]) -> u64 {
        self.grow(g.slots());
        for &v in born {
            self.label[v as usize] = v;
        }
        let mut parent: HashMap<u32, u32> = HashMap::new();
        let mut merges = 0u64;
        for &(u, v, _) in arcs {
            let (a, b) = (
                find(&mut parent, self.label[u as usize]),
                find(&mut parent, self.label[v as usize]),
            );
            if a != b {
                let (keep, drop) = if g.id(a) < g.id(b) { (a, b) } else { (b, a) };
                parent.insert(drop, keep);
                parent.entry(keep).or_insert(keep);
                merges += 1;
            }
        }
        if merges > 0 {
            let keys: Vec<u32> = parent.keys().copied().collect();
            let mut remap: HashMap<u32, u32> = HashMap::new();
            for k in keys {
                let r = find(&mut parent, k);
                if r != k {
                    remap.insert(k, r);
                }
            }
            for l in &mut self.label {
                if let Some(&r) = remap.get(l) {
                    *l = r;
                }
            }
        }
        merges
    }
}
