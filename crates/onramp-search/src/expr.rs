//! Candidate sets as expressions over postings, evaluated within a restriction.
//!
//! A page needs only the first few candidates in id order, so a level's candidates are not materialised:
//! the walk (see `walk.rs`) evaluates the expression one 65,536-user block of doc numbers at a time (a
//! roaring container), starting at the cursor, and stops once the page is full. Unions of many postings (a
//! two-character prefix, a one-edit word's variants) then cost one container each rather than a million
//! users' worth.

use std::cell::Cell;

use roaring::{MultiOps, RoaringBitmap};

use crate::sparse::SparseList;
use crate::walk::BLOCK_BITS;

/// Within at most this many users, a [`Node::Checked`] set is not evaluated: its candidates are checked one by
/// one anyway, and checking a few users' texts costs less than reading postings (a gram's list segment is up
/// to 4 KiB of gaps, a typo word's variants are dozens of bitmaps). Tests take both ways.
#[cfg(not(test))]
pub(crate) const CHECK_UP_TO: u64 = 8;
#[cfg(test)]
pub(crate) const CHECK_UP_TO: u64 = 2;

/// A roaring container holding more than this many users is a bitmap (1,024 words), else a sorted array. Tests
/// take a few users for many, so that their small sets take [`next_part`]'s dense way too.
#[cfg(not(test))]
const ARRAY_LIMIT: u64 = 4096;
#[cfg(test)]
const ARRAY_LIMIT: u64 = 2;

/// The users of a walk's block, one roaring container, for [`next_part`]'s guess of an intersection's size
/// (tests take a few, with their [`ARRAY_LIMIT`]).
const BLOCK_USERS: u64 = 1 << BLOCK_BITS;

/// A part holding more than this many users of a block costs more, tested member by member against a set (about
/// 1.5 ns each), than a word-wise AND of two bitmap containers (two passes over 1,024 words) does.
#[cfg(not(test))]
const WORD_WISE_PAYS_FROM: u64 = 512;
#[cfg(test)]
const WORD_WISE_PAYS_FROM: u64 = 1;

/// A set of users.
pub(crate) enum Node<'a> {
    Set(&'a RoaringBitmap),
    /// A sparse list, and where to start looking for the segments of the next block evaluated (see
    /// `SparseList::eval`): a walk evaluates blocks in order.
    List(&'a SparseList, Cell<usize>),
    Owned(RoaringBitmap),
    /// In every child.
    And(Vec<Node<'a>>),
    /// In any child.
    Or(Vec<Node<'a>>),
    /// Not in the child.
    Not(Box<Node<'a>>),
    /// The child, or any set of users holding it: the candidates of a rank that each get checked against
    /// their text (`has_rank`), so that a superset costs only the checks of the users it adds. Evaluated
    /// within a few users ([`CHECK_UP_TO`]), it is those users; an intersection inside it stops applying
    /// anything but bitmaps once it is down to that few. Never under a `Not` (whose child is exact).
    Checked(Box<Node<'a>>),
}

impl<'a> Node<'a> {
    pub fn empty() -> Node<'a> {
        Node::Owned(RoaringBitmap::new())
    }

    pub fn list(list: &'a SparseList) -> Node<'a> {
        Node::List(list, Cell::new(0))
    }

    /// An upper bound of the set's size, to intersect small sets first; `Not` sorts last.
    fn estimate(&self) -> u64 {
        match self {
            Node::Set(b) => b.len(),
            Node::List(l, _) => l.len(),
            Node::Owned(b) => b.len(),
            Node::And(children) => children.iter().map(Node::estimate).min().unwrap_or(u64::MAX),
            Node::Or(children) => children.iter().map(Node::estimate).fold(0, u64::saturating_add),
            Node::Not(_) => u64::MAX,
            Node::Checked(child) => child.estimate(),
        }
    }

    /// Whether the set is certainly empty.
    pub fn is_empty(&self) -> bool {
        match self {
            Node::Set(b) => b.is_empty(),
            Node::List(l, _) => l.is_empty(),
            Node::Owned(b) => b.is_empty(),
            Node::And(children) => children.iter().any(Node::is_empty),
            Node::Or(children) => children.iter().all(Node::is_empty),
            Node::Not(_) => false,
            Node::Checked(child) => child.is_empty(),
        }
    }

    /// The users of `within` in the set.
    ///
    /// `within` is one block (see `walk.rs`) while a posting spans every block, so a bitmap is intersected
    /// in place (`&=`), which finds `within`'s one container in the posting by binary search: `within & b`
    /// would step through every container of `b`, making a walk through all blocks cost blocks × containers
    /// per posting, quadratic in the users. Sparse lists keep their place between blocks for the same reason.
    pub fn eval(&self, within: &RoaringBitmap) -> RoaringBitmap {
        self.eval_in(within, false)
    }

    /// [`Node::eval`] of a set the caller gives up (a block, for a search's filters), restricted in place
    /// (see [`Node::restrict`]) without the copy `eval` starts with.
    pub fn eval_owned(&self, mut within: RoaringBitmap) -> RoaringBitmap {
        self.restrict(&mut within, false);
        within
    }

    /// [`Node::eval`], or when `superset`, any set of users of `within` holding it (see [`Node::Checked`]).
    fn eval_in(&self, within: &RoaringBitmap, superset: bool) -> RoaringBitmap {
        if within.is_empty() {
            return RoaringBitmap::new();
        }
        match self {
            // Bitmaps, and the complement of bitmaps, are applied in place (see `restrict`).
            Node::Set(_) | Node::Owned(_) | Node::Not(_) => {
                let mut out = within.clone();
                self.restrict(&mut out, superset);
                out
            }
            _ if superset && within.len() <= CHECK_UP_TO => within.clone(),
            Node::List(l, from) => l.eval(within, from),
            Node::Or(children) => children.iter().map(|c| c.eval_in(within, superset)).union(),
            Node::Checked(child) => child.eval_in(within, true),
            Node::And(children) => {
                let mut order = smallest_first(children).into_iter();
                let Some(first) = order.next() else { return within.clone() };
                let mut acc = first.eval_in(within, superset);
                for child in order {
                    if acc.is_empty() {
                        break;
                    }
                    child.restrict(&mut acc, superset);
                }
                acc
            }
        }
    }

    /// Keeps of `set` the users in this set (or, when `superset`, a set holding them): a bitmap in place, the
    /// complement of bitmaps by taking them out in place, an intersection by restricting `set` by each part in
    /// turn, anything else evaluated within `set`.
    fn restrict(&self, set: &mut RoaringBitmap, superset: bool) {
        match self {
            Node::Set(b) => *set &= *b,
            Node::Owned(b) => *set &= b,
            // As `eval_in` does: within a few users a superset is those users.
            Node::And(_) if superset && set.len() <= CHECK_UP_TO => {}
            Node::And(children) => {
                let mut order = smallest_first(children);
                while !order.is_empty() && !set.is_empty() {
                    order.remove(next_part(&order, set)).restrict(set, superset);
                }
            }
            // A filter of one value (one department, one role): its set, in place, without a union's copy.
            Node::Or(children) if children.len() == 1 => children[0].restrict(set, superset),
            Node::Not(child) => {
                if child.subtract_from(set) {
                    return;
                }
                // The complement of a superset would be a subset.
                let excluded = child.eval_in(set, false);
                *set -= &excluded;
            }
            _ => *set = self.eval_in(set, superset),
        }
    }

    /// About how many users of the container starting at `start` the set holds, when that is cheap to know
    /// (a bitmap, a union of bitmaps): see [`container_len`].
    fn len_in(&self, start: u32) -> Option<u64> {
        match self {
            Node::Set(b) => Some(container_len(b, start)),
            Node::Owned(b) => Some(container_len(b, start)),
            Node::Or(children) => children.iter().map(|c| c.len_in(start)).sum(),
            _ => None,
        }
    }

    /// Takes the set out of `set` in place when it is a bitmap or a union of bitmaps (a filter's exclusions),
    /// rather than evaluating it within `set` first; false, changing nothing, when it is not.
    fn subtract_from(&self, set: &mut RoaringBitmap) -> bool {
        match self {
            Node::Set(b) => *set -= *b,
            Node::Owned(b) => *set -= b,
            Node::Or(children) if children.iter().all(|c| matches!(c, Node::Set(_) | Node::Owned(_))) => {
                for child in children {
                    child.subtract_from(set);
                }
            }
            _ => return false,
        }
        true
    }

    /// The whole set, when it has no `Not` at its top (every `And` has a positive child).
    pub fn materialize(&self) -> RoaringBitmap {
        match self {
            Node::Set(b) => (*b).clone(),
            Node::List(l, _) => l.to_bitmap(),
            Node::Owned(b) => b.clone(),
            Node::Or(children) => children.iter().map(Node::materialize).union(),
            Node::Not(_) => unreachable!("a complement is only taken within a set"),
            Node::Checked(child) => child.materialize(),
            Node::And(children) => {
                let Some(smallest) =
                    children.iter().filter(|c| !matches!(c, Node::Not(_))).min_by_key(|c| c.estimate())
                else {
                    unreachable!("an intersection has a positive part")
                };
                let base = smallest.materialize();
                Node::And(children.iter().map(Node::borrowed).collect()).eval(&base)
            }
        }
    }

    /// The same set, borrowing what this one owns.
    pub fn borrowed(&self) -> Node<'_> {
        match self {
            Node::Set(b) => Node::Set(b),
            Node::List(l, _) => Node::list(l),
            Node::Owned(b) => Node::Set(b),
            Node::And(c) => Node::And(c.iter().map(Node::borrowed).collect()),
            Node::Or(c) => Node::Or(c.iter().map(Node::borrowed).collect()),
            Node::Not(c) => Node::Not(Box::new(c.borrowed())),
            Node::Checked(c) => Node::Checked(Box::new(c.borrowed())),
        }
    }
}

/// The part of `order` (smallest first) to apply next to `set`: the smallest, unless a word-wise AND pays.
///
/// Intersecting roaring containers costs by their kinds: two bitmaps (more than [`ARRAY_LIMIT`] users of a
/// 65,536-user block each) a word-wise AND of 1,024 words; an array and a bitmap a test of each of the
/// array's members; two arrays a merge of both, the dearest per member. A search's filters start from a
/// whole block (a bitmap), where the smallest part is often an array (a status, a job title) tested member by
/// member against the block and then again against the next part, a bitmap (a department). So while `set` is
/// a bitmap and the smallest part holds more than [`WORD_WISE_PAYS_FROM`] of its block's users, a bitmap part
/// goes first, as long as the intersection is likely (taking the two as independent) to stay a bitmap: one
/// that falls to an array would meet the smallest part, an array, in a merge. Intersections commute: the
/// order is only cost.
fn next_part(order: &[&Node<'_>], set: &RoaringBitmap) -> usize {
    // Cheapest first: this runs for every part of every intersection a walk applies.
    if order.len() < 2 || set.len() <= ARRAY_LIMIT {
        return 0;
    }
    let (Some(min), Some(max)) = (set.min(), set.max()) else { return 0 };
    let start = min & !0xffff;
    if max - start > 0xffff {
        return 0;
    }
    let stays_a_bitmap = |len: u64| len > ARRAY_LIMIT && set.len() * len / BLOCK_USERS > ARRAY_LIMIT;
    if order[0].len_in(start).is_some_and(|len| len <= WORD_WISE_PAYS_FROM || stays_a_bitmap(len)) {
        return 0;
    }
    order.iter().skip(1).position(|part| part.len_in(start).is_some_and(stays_a_bitmap)).map_or(0, |at| at + 1)
}

/// How many users `b` holds in the container starting at `start` (a multiple of 65,536), give or take the
/// next container's first: `range_cardinality` counts a container it passes whole by its stored length, but
/// one it ends within by a popcount of up to 1,024 words, so the range ends one past the container.
fn container_len(b: &RoaringBitmap, start: u32) -> u64 {
    b.range_cardinality(start..=start.saturating_add(0x1_0000))
}

/// The parts of an intersection in the order to apply them: small sets first, complements last.
fn smallest_first<'n, 'a>(children: &'n [Node<'a>]) -> Vec<&'n Node<'a>> {
    let mut order: Vec<&Node> = children.iter().collect();
    order.sort_by_key(|c| c.estimate());
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(values: &[u32]) -> RoaringBitmap {
        values.iter().copied().collect()
    }

    #[test]
    fn evaluates_within_a_restriction() {
        let (a, b, c) = (set(&[1, 2, 3, 4, 70_000]), set(&[2, 4, 6, 70_000]), set(&[4]));
        let node = Node::And(vec![
            Node::Set(&a),
            Node::Or(vec![Node::Set(&b), Node::Set(&c)]),
            Node::Not(Box::new(Node::Set(&c))),
        ]);
        assert_eq!(node.eval(&set(&[0, 1, 2, 3, 4, 5, 6, 70_000])), set(&[2, 70_000]));
        assert_eq!(node.eval(&set(&[0, 1, 2])), set(&[2]));
        assert_eq!(node.eval_owned(set(&[0, 1, 2, 3, 4, 5, 6, 70_000])), set(&[2, 70_000]));
        assert_eq!(Node::Not(Box::new(Node::Set(&c))).eval_owned(set(&[3, 4, 5])), set(&[3, 5]));
        assert_eq!(Node::Set(&b).eval_owned(set(&[3, 4, 5])), set(&[4]));
        let one = Node::And(vec![Node::Or(vec![Node::Set(&b)]), Node::Or(vec![Node::Set(&a)])]);
        assert_eq!(one.eval_owned(set(&[0, 1, 2, 3, 4, 5, 6, 70_000])), set(&[2, 4, 70_000]));
        assert_eq!(node.materialize(), set(&[2, 70_000]));
        assert!(!node.is_empty());
        // Postings after the first are applied in place.
        let all = Node::And(vec![Node::Set(&b), Node::Set(&a), Node::Owned(set(&[4, 6, 70_000]))]);
        assert_eq!(all.eval(&set(&[0, 1, 2, 3, 4, 5, 6, 70_000])), set(&[4, 70_000]));
        assert!(Node::And(vec![Node::Set(&a), Node::empty()]).is_empty());
        let mut list = SparseList::default();
        for doc in [4, 9, 70_001] {
            list.insert(doc).unwrap();
        }
        let list = Node::list(&list);
        assert_eq!(list.eval(&set(&[4, 9, 10])), set(&[4, 9]));
        assert_eq!(list.materialize(), set(&[4, 9, 70_001]));
        assert_eq!(list.estimate(), 3);
    }

    fn list_of(docs: &[u32]) -> SparseList {
        let mut list = SparseList::default();
        for &doc in docs {
            list.insert(doc).unwrap();
        }
        list
    }

    #[test]
    fn a_checked_set_may_be_a_superset_and_its_complements_are_exact() {
        fn checked(node: Node<'_>) -> Node<'_> {
            Node::Checked(Box::new(node))
        }
        let (a, b, odd) = (set(&[1, 2, 3]), set(&[2]), set(&[1, 3]));
        let (rare, common, other) = (list_of(&[2]), list_of(&[1, 2, 3, 5]), list_of(&[2, 5, 7]));
        // Within a few users (CHECK_UP_TO is 2 under test): those users.
        let few = set(&[1, 3]);
        assert_eq!(checked(Node::list(&rare)).eval(&few), few);
        assert_eq!(Node::list(&rare).eval(&few), set(&[]));
        // An intersection applies bitmaps, and stops applying anything else once that few are left.
        let many = set(&[1, 2, 3, 4, 5, 6]);
        assert_eq!(Node::And(vec![Node::Set(&odd), Node::list(&other)]).eval(&many), set(&[]));
        assert_eq!(checked(Node::And(vec![Node::Set(&odd), Node::list(&other)])).eval(&many), set(&[1, 3]));
        assert_eq!(checked(Node::And(vec![Node::Set(&a), Node::list(&rare)])).eval(&many), set(&[2]));
        assert_eq!(checked(Node::And(vec![Node::list(&common), Node::Set(&b)])).eval(&many), set(&[2]));
        assert_eq!(checked(Node::Or(vec![Node::list(&rare), Node::Set(&b)])).eval(&many), set(&[2]));
        // A complement is of the exact set.
        let not = checked(Node::And(vec![Node::list(&common), Node::Not(Box::new(Node::list(&other)))]));
        assert_eq!(not.eval(&many), set(&[1, 3]));
        // Materialised, it is exact.
        assert_eq!(checked(Node::And(vec![Node::Set(&odd), Node::list(&other)])).materialize(), set(&[]));
    }

    #[test]
    fn a_bitmap_part_goes_first_while_the_intersection_stays_a_bitmap() {
        // Under test a container of more than 2 users counts as a bitmap, and a block holds 8 users.
        let (all, few) = (set(&[0, 1, 2, 3, 4, 5, 6, 7]), set(&[0, 1, 2, 3]));
        let (small, dense, thin, one) = (set(&[1, 3]), set(&[0, 1, 2, 3, 4, 5, 6]), set(&[0, 1, 2]), set(&[1]));
        let (small, dense, thin, one) = (Node::Set(&small), Node::Set(&dense), Node::Set(&thin), Node::Set(&one));
        assert_eq!(next_part(&[&small, &dense], &all), 1);
        // Within 4 users, 3 of them are likely to leave an array.
        assert_eq!(next_part(&[&small, &thin], &few), 0);
        // A smallest part of one user costs less tested member by member.
        assert_eq!(next_part(&[&one, &dense], &all), 0);
        // A complement's size is not known, so it never goes first.
        let not = Node::Not(Box::new(one.borrowed()));
        assert_eq!(next_part(&[&small, &not], &all), 0);
        // Beyond one container, the smallest.
        let wide = set(&[0, 1, 2, 70_000]);
        assert_eq!(next_part(&[&small, &dense], &wide), 0);
        let and = Node::And(vec![small.borrowed(), dense.borrowed(), not]);
        assert_eq!(and.eval_owned(all), set(&[3]));
    }

    proptest::proptest! {
        /// Whatever order the parts of an intersection are applied in, within one container or several, it is
        /// the intersection.
        #[test]
        fn an_intersection_in_any_order_is_the_intersection(
            within in proptest::collection::btree_set(0u32..20, 0..20),
            parts in proptest::collection::vec(proptest::collection::btree_set(0u32..20, 0..20), 1..5),
            negated in proptest::collection::vec(proptest::bool::ANY, 5),
            high in proptest::bool::ANY,
        ) {
            let shift = |v: &u32| if high && v.is_multiple_of(2) { v + 70_000 } else { *v };
            let within: RoaringBitmap = within.iter().map(shift).collect();
            let parts: Vec<RoaringBitmap> = parts.iter().map(|p| p.iter().map(shift).collect()).collect();
            let mut expected = within.clone();
            let mut nodes = Vec::new();
            for (part, &not) in parts.iter().zip(&negated) {
                if not {
                    expected -= part;
                    nodes.push(Node::Not(Box::new(Node::Or(vec![Node::Set(part)]))));
                } else {
                    expected &= part;
                    nodes.push(Node::Or(vec![Node::Set(part)]));
                }
            }
            proptest::prop_assert_eq!(Node::And(nodes).eval_owned(within), expected);
        }
    }
}
