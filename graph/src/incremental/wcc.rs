//! Weakly connected components under arc insertions and deletions.
//!
//! Each vertex holds the slot of its component's smallest id. Insertions merge components
//! through a union-find over those labels. Deletions start one search from every live
//! endpoint of a deleted arc, grouped by component, and run the searches in lockstep:
//! searches that meet merge, a search that runs out of vertices has found a whole component
//! (which gets its own label), and the round ends as soon as at most one search is left
//! running. Split-off pieces are usually small, so a deletion costs about the size of what it
//! separates, not the size of the component.

use std::collections::VecDeque;

use super::dyngraph::{DynGraph, IntMap, NONE};

/// Component labels (slot of the smallest id; [`NONE`] for deleted vertices).
#[derive(Clone, Debug, Default)]
pub struct Wcc {
    pub(crate) label: Vec<u32>,
    /// Scratch: which search owns a slot ([`NONE`] when untouched).
    owner: Vec<u32>,
    /// Scratch: a new label per old label slot ([`NONE`] when unchanged).
    map: Vec<u32>,
}

fn find(parent: &mut IntMap<u32, u32>, x: u32) -> u32 {
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

/// The search a search was merged into, with path halving.
fn root(parent: &mut [u32], mut x: u32) -> u32 {
    while parent[x as usize] != x {
        parent[x as usize] = parent[parent[x as usize] as usize];
        x = parent[x as usize];
    }
    x
}

#[derive(Default)]
struct Search {
    queue: VecDeque<u32>,
    members: Vec<u32>,
    /// The vertex being scanned and the next neighbour position in it.
    cur: Option<(u32, usize)>,
}

/// Neighbours a search looks at per turn: hubs are scanned a slice at a time, so searches
/// meet (and merge) before any of them has walked a whole hub.
const TURN: usize = 16;

/// Neighbour `i` of `v` ignoring direction (out-list, then in-list of directed graphs).
fn neighbour(g: &DynGraph, v: u32, i: usize) -> Option<u32> {
    let out = g.out(v);
    match out.get(i) {
        Some(&w) => Some(w),
        None if g.directed() => g.inn(v).get(i - out.len()).copied(),
        None => None,
    }
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
            map: vec![NONE; n],
        }
    }

    /// Labels from a saved state.
    pub(crate) fn from_labels(label: Vec<u32>) -> Self {
        let n = label.len();
        Wcc {
            label,
            owner: vec![NONE; n],
            map: vec![NONE; n],
        }
    }

    fn grow(&mut self, n: usize) {
        if self.label.len() < n {
            let more = (n - self.label.len()).max(super::dyngraph::spare_slots(n));
            self.label.reserve_exact(more);
            self.owner.reserve_exact(more);
            self.map.reserve_exact(more);
            self.label.resize(n, NONE);
            self.owner.resize(n, NONE);
            self.map.resize(n, NONE);
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
        // Live endpoints of removed arcs, by component. (Settling pairs still joined by a
        // reverse or parallel arc first was measured: the binary searches over hub lists
        // cost more than the searches they save.)
        let mut frontier: IntMap<u32, Vec<u32>> = IntMap::default();
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
        // `map[l]` holds the smallest member found so far (`PENDING` before the first).
        const PENDING: u32 = NONE - 1;
        for &l in &lost {
            self.map[l as usize] = PENDING;
        }
        for v in 0..self.label.len() as u32 {
            let l = self.label[v as usize];
            if l == NONE || self.owner[v as usize] != NONE || !g.is_alive(v) {
                continue;
            }
            let m = self.map[l as usize];
            if m == PENDING || (m != NONE && g.id(v) < g.id(m)) {
                self.map[l as usize] = v;
            }
        }
        for (v, l) in self.label.iter_mut().enumerate() {
            if *l == NONE || self.owner[v] != NONE {
                continue;
            }
            let m = self.map[*l as usize];
            if m != NONE && m != PENDING {
                *l = m;
            }
        }
        for l in lost {
            self.map[l as usize] = NONE;
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
        // Which search each search was merged into (itself while running on its own).
        let mut merged: Vec<u32> = (0..starts.len() as u32).collect();
        // Searches that ran out of vertices: whole components, never merged again.
        let mut finished = vec![false; starts.len()];
        for &s in starts {
            self.owner[s as usize] = searches.len() as u32;
            // No allocation until a search finds a second vertex: the seed is scanned
            // through the cursor, and `members` holds everything else the search owns
            // (including the seeds of searches merged into it).
            searches.push(Search {
                queue: VecDeque::new(),
                members: Vec::new(),
                cur: Some((s, 0)),
            });
        }
        let mut running: Vec<u32> = (0..searches.len() as u32).collect();
        let mut done: Vec<Vec<u32>> = Vec::new();
        let mut visited = starts.len() as u64;
        while running.len() > 1 {
            let mut next = Vec::with_capacity(running.len());
            for &s in &running {
                if root(&mut merged, s) != s || finished[s as usize] {
                    continue; // absorbed by another search, or finished, this round
                }
                let mut me = s;
                let mut cur = searches[me as usize].cur.take();
                let mut budget = TURN;
                let mut exhausted = false;
                while budget > 0 {
                    let (v, i) = match cur {
                        Some(c) => c,
                        None => match searches[me as usize].queue.pop_front() {
                            Some(v) => (v, 0),
                            None => {
                                exhausted = true;
                                break;
                            }
                        },
                    };
                    let Some(w) = neighbour(g, v, i) else {
                        cur = None;
                        continue;
                    };
                    cur = Some((v, i + 1));
                    budget -= 1;
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
                    let other = root(&mut merged, o);
                    if other != me {
                        // Merge the smaller search into the larger; a vertex the other
                        // search was half-way through is queued again.
                        let (big, small) = if searches[me as usize].members.len()
                            >= searches[other as usize].members.len()
                        {
                            (me, other)
                        } else {
                            (other, me)
                        };
                        let taken = std::mem::take(&mut searches[small as usize]);
                        let b = &mut searches[big as usize];
                        for (x, _) in [taken.cur, b.cur.take()].into_iter().flatten() {
                            b.queue.push_front(x);
                        }
                        b.queue.extend(taken.queue);
                        b.members.push(starts[small as usize]);
                        b.members.extend(taken.members);
                        merged[small as usize] = big;
                        me = big;
                    }
                }
                if exhausted {
                    finished[me as usize] = true;
                    let mut comp = std::mem::take(&mut searches[me as usize].members);
                    comp.push(starts[me as usize]);
                    done.push(comp);
                    continue;
                }
                searches[me as usize].cur = cur;
                next.push(me);
            }
            next.sort_unstable();
            next.dedup();
            next.retain(|&s| root(&mut merged, s) == s && !finished[s as usize]);
            running = next;
        }
        let rest = !running.is_empty();
        // Reset the owners of everything touched.
        for &v in starts {
            self.owner[v as usize] = NONE;
        }
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
        let mut parent: IntMap<u32, u32> = IntMap::default();
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
            for &k in &keys {
                let r = find(&mut parent, k);
                if r != k {
                    self.map[k as usize] = r;
                }
            }
            for l in &mut self.label {
                if *l != NONE {
                    let r = self.map[*l as usize];
                    if r != NONE {
                        *l = r;
                    }
                }
            }
            for k in keys {
                self.map[k as usize] = NONE;
            }
        }
        merges
    }
}
