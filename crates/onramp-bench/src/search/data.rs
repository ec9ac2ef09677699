//! The users of `onramp-bench search`: the synthetic users of a seed with roles, types and origins added in
//! fixed shares, and the one-typo misspelling its typo queries are made with.

use onramp_api::wire::user_input::UserInput;
use onramp_domain::user::{User, UserOrigin, UserType};
use onramp_domain::{BuiltinRole, Id, Timestamp};
use onramp_search::Index;

use crate::synthetic::{Rng, Users};

/// Seeds the roles, types and origins, apart from the generator's own stream.
pub(super) const EXTRA_SEED: u64 = 0x5ea7_c4b3_1d0f_a11c;
/// Each role is given to this share of the users, independently.
pub(super) const ROLE_SHARES: [(BuiltinRole, f64); 4] = [
    (BuiltinRole::BasicUser, 0.25),
    (BuiltinRole::DirectoryAdmin, 0.03),
    (BuiltinRole::ReadOnlyAdmin, 0.005),
    (BuiltinRole::Admin, 0.001),
];

/// The first `count` users of [`inputs`]`(seed)` as one new tenant's users, made now: what every part of the
/// search benchmark and its examples indexes.
pub fn users(seed: u64, count: usize) -> std::result::Result<Vec<User>, String> {
    let (tenant, now) = (Id::new(), Timestamp::now());
    inputs(seed).take(count).map(|input| input.into_new_user(tenant, now).map_err(|e| e.message)).collect()
}

/// The index `onramp-bench search` builds from `users`: one bulk load, as a node's start-up load is.
pub fn build_index(users: &[User]) -> Index {
    let mut index = Index::new();
    index.start_bulk();
    index.upsert_all(users.iter().map(Into::into));
    index.finish_bulk();
    index
}

/// The synthetic users of `seed`, with roles (see [`ROLE_SHARES`]), types (4 % service, 1 % agent, the rest
/// human) and origins (40 % directory, the rest local) drawn from a second stream of the same seed.
pub fn inputs(seed: u64) -> impl Iterator<Item = UserInput> {
    let mut rng = Rng::new(seed ^ EXTRA_SEED);
    Users::new(seed).map(move |mut input| {
        let roles: Vec<String> = ROLE_SHARES
            .iter()
            .filter(|(_, share)| rng.unit() < *share)
            .map(|(role, _)| role.name().to_string())
            .collect();
        if !roles.is_empty() {
            input.role_ids = Some(roles);
        }
        let kind = rng.unit();
        let user_type = match kind {
            k if k < 0.04 => UserType::Service,
            k if k < 0.05 => UserType::Agent,
            _ => UserType::Human,
        };
        input.user_type = Some(user_type.as_str().into());
        let origin = if rng.unit() < 0.4 { UserOrigin::Directory } else { UserOrigin::Local };
        input.origin = Some(origin.as_str().into());
        input
    })
}

pub(super) fn below(rng: &mut Rng, n: usize) -> usize {
    (rng.next_u64() % n as u64) as usize
}

pub(super) fn pick<'a>(rng: &mut Rng, items: &[&'a str]) -> &'a str {
    items[below(rng, items.len())]
}

/// `word` with one random edit: an insertion, deletion, substitution or transposition of two adjacent
/// letters, never giving back the word itself, and never shorter than 4 characters (onramp tolerates typos
/// in query words of 4 characters or more). `word` must have at least 4 characters.
pub fn one_typo(word: &str, rng: &mut Rng) -> String {
    let mut chars: Vec<char> = word.chars().collect();
    assert!(chars.len() >= 4, "one_typo needs a word of 4 characters or more: {word:?}");
    let letter = |rng: &mut Rng| (b'a' + below(rng, 26) as u8) as char;
    loop {
        match below(rng, 4) {
            0 => {
                let at = below(rng, chars.len() + 1);
                chars.insert(at, letter(rng));
            }
            1 if chars.len() > 4 => {
                chars.remove(below(rng, chars.len()));
            }
            2 => {
                let at = below(rng, chars.len());
                let replacement = letter(rng);
                if replacement == chars[at] {
                    continue;
                }
                chars[at] = replacement;
            }
            3 => {
                let at = below(rng, chars.len() - 1);
                if chars[at] == chars[at + 1] {
                    continue;
                }
                chars.swap(at, at + 1);
            }
            _ => continue,
        }
        return chars.into_iter().collect();
    }
}

/// Optimal string alignment distance (Damerau–Levenshtein with adjacent transpositions).
#[cfg(test)]
pub(super) fn damerau(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use onramp_domain::user::User;
    use onramp_domain::{Id, Timestamp};

    use super::*;

    #[test]
    fn damerau_reference() {
        assert_eq!(damerau("jennifer", "jennifer"), 0);
        assert_eq!(damerau("jennifer", "jenifer"), 1);
        assert_eq!(damerau("jennifer", "jennifre"), 1);
        assert_eq!(damerau("smith", "smyth"), 1);
        assert_eq!(damerau("smith", "smiths"), 1);
        assert_eq!(damerau("smith", "msith"), 1);
        assert_eq!(damerau("smith", "mstih"), 2);
    }

    #[test]
    fn a_typo_is_one_edit_away_and_long_enough() {
        let mut rng = Rng::new(3);
        for word in ["mary", "aaaa", "jennifer", "schroder", "ostergaard", "noemie", "lukasz", "abab"] {
            for _ in 0..2000 {
                let typo = one_typo(word, &mut rng);
                assert_eq!(damerau(word, &typo), 1, "{word} -> {typo}");
                assert!(typo.chars().count() >= 4, "{word} -> {typo}");
            }
        }
    }

    #[test]
    fn inputs_have_roles_types_and_origins_in_proportion() {
        let now = Timestamp::now();
        let users: Vec<User> = inputs(2).take(20_000).map(|i| i.into_new_user(Id::new(), now).unwrap()).collect();
        let share = |f: &dyn Fn(&User) -> bool| users.iter().filter(|u| f(u)).count() as f64 / users.len() as f64;
        assert!((share(&|u| u.role_ids.contains(&BuiltinRole::BasicUser.id())) - 0.25).abs() < 0.02);
        assert!((share(&|u| u.user_type == UserType::Service) - 0.04).abs() < 0.01);
        assert!((share(&|u| u.origin == UserOrigin::Directory) - 0.4).abs() < 0.02);
    }
}
