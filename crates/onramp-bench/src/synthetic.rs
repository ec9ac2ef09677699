//! A deterministic generator of realistic users, for benchmarks and large tests: the same seed gives the
//! same users on every machine. Names follow a Zipf-like frequency (many Johns, few Greggs), some carry
//! accents, and every email, username and employee id is unique.

use onramp_api::wire::user_input::UserInput;

/// SplitMix64: tiny, fast, and good enough to pick names; not for secrets.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A float in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Ordered most common first; the generator weights rank r by 1/r.
pub const FIRST_NAMES: &[&str] = &[
    "James",
    "John",
    "Robert",
    "Michael",
    "Mary",
    "William",
    "David",
    "Jennifer",
    "Richard",
    "Linda",
    "Maria",
    "Joseph",
    "Thomas",
    "Patricia",
    "Elizabeth",
    "Charles",
    "Christopher",
    "Barbara",
    "Daniel",
    "Susan",
    "Jessica",
    "Matthew",
    "Sarah",
    "Anthony",
    "Karen",
    "Mark",
    "Nancy",
    "Donald",
    "Lisa",
    "Steven",
    "Betty",
    "Paul",
    "Margaret",
    "Andrew",
    "Sandra",
    "Joshua",
    "Ashley",
    "Kenneth",
    "Kimberly",
    "Kevin",
    "Emily",
    "Brian",
    "Donna",
    "George",
    "Michelle",
    "Timothy",
    "Carol",
    "Ronald",
    "Amanda",
    "Edward",
    "Dorothy",
    "Jason",
    "Melissa",
    "Jeffrey",
    "Deborah",
    "Ryan",
    "Stephanie",
    "Jacob",
    "Rebecca",
    "Gary",
    "Sharon",
    "Nicholas",
    "Laura",
    "Eric",
    "Cynthia",
    "Jonathan",
    "Kathleen",
    "Stephen",
    "Amy",
    "Larry",
    "Angela",
    "Justin",
    "Shirley",
    "Scott",
    "Anna",
    "Brandon",
    "Brenda",
    "Benjamin",
    "Pamela",
    "Samuel",
    "Emma",
    "Gregory",
    "Nicole",
    "Alexander",
    "Helen",
    "Frank",
    "Samantha",
    "Patrick",
    "Katherine",
    "Raymond",
    "Christine",
    "Jack",
    "Debra",
    "Dennis",
    "Rachel",
    "Jerry",
    "Carolyn",
    "Tyler",
    "Janet",
    "Aaron",
    "José",
    "Zoë",
    "Renée",
    "Björn",
    "Søren",
    "Chloé",
    "François",
    "Łukasz",
    "Ana",
    "Mateo",
    "Priya",
    "Wei",
    "Aiko",
    "Olga",
    "Kwame",
    "Fatima",
    "Ines",
    "Noémie",
    "Gregg",
];

pub const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jiménez",
    "Müller",
    "Østergaard",
    "Nakamura",
    "Kowalski",
    "Dubois",
    "Okafor",
    "Schröder",
    "Lindqvist",
    "Novák",
    "Haddad",
];

pub const DEPARTMENTS: &[&str] = &[
    "Engineering",
    "Sales",
    "Marketing",
    "Support",
    "Finance",
    "Legal",
    "People",
    "Operations",
    "Product",
    "Design",
    "Security",
    "Research",
];

pub const JOB_TITLES: &[&str] = &[
    "Software Engineer",
    "Senior Software Engineer",
    "Staff Engineer",
    "Engineering Manager",
    "Account Executive",
    "Sales Manager",
    "Marketing Specialist",
    "Support Engineer",
    "Accountant",
    "Counsel",
    "Recruiter",
    "Operations Analyst",
    "Product Manager",
    "Product Designer",
    "Security Engineer",
    "Research Scientist",
    "Director",
    "Vice President",
    "Intern",
    "Data Analyst",
];

const DOMAINS: &[&str] = &["acme.example", "globex.example", "initech.example", "umbrella.example"];

/// Picks from `items` with weight 1/(rank+1).
fn zipf<'a>(rng: &mut Rng, items: &[&'a str], cumulative: &[f64]) -> &'a str {
    let total = *cumulative.last().expect("non-empty list");
    let target = rng.unit() * total;
    let index = cumulative.partition_point(|&c| c <= target).min(items.len() - 1);
    items[index]
}

fn cumulative(len: usize) -> Vec<f64> {
    let mut sum = 0.0;
    (0..len)
        .map(|rank| {
            sum += 1.0 / (rank as f64 + 1.0);
            sum
        })
        .collect()
}

/// The lowercase ASCII form of a name for emails and usernames (`Zoë` → `zoe`).
pub fn ascii_fold(name: &str) -> String {
    name.chars()
        .filter_map(|c| match c {
            'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => Some('a'),
            'ç' => Some('c'),
            'é' | 'è' | 'ê' | 'ë' => Some('e'),
            'í' | 'ì' | 'î' | 'ï' => Some('i'),
            'ñ' => Some('n'),
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' | 'Ø' => Some('o'),
            'ú' | 'ù' | 'û' | 'ü' => Some('u'),
            'ł' | 'Ł' => Some('l'),
            'š' => Some('s'),
            c if c.is_ascii_alphanumeric() => Some(c.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

/// An endless, deterministic stream of users.
pub struct Users {
    rng: Rng,
    index: u64,
    first: Vec<f64>,
    last: Vec<f64>,
}

impl Users {
    pub fn new(seed: u64) -> Self {
        Users {
            rng: Rng::new(seed),
            index: 0,
            first: cumulative(FIRST_NAMES.len()),
            last: cumulative(LAST_NAMES.len()),
        }
    }
}

impl Iterator for Users {
    type Item = UserInput;

    fn next(&mut self) -> Option<UserInput> {
        let i = self.index;
        self.index += 1;
        let rng = &mut self.rng;
        let first = zipf(rng, FIRST_NAMES, &self.first);
        let last = zipf(rng, LAST_NAMES, &self.last);
        let domain = DOMAINS[(rng.next_u64() % DOMAINS.len() as u64) as usize];
        let (first_ascii, last_ascii) = (ascii_fold(first), ascii_fold(last));
        let status = if rng.unit() < 0.95 { "ENABLED" } else { "DISABLED" };
        Some(UserInput {
            email: Some(format!("{first_ascii}.{last_ascii}.{i}@{domain}")),
            display_name: Some(format!("{first} {last}")),
            status: Some(status.into()),
            department: Some(DEPARTMENTS[(rng.next_u64() % DEPARTMENTS.len() as u64) as usize].into()),
            job_title: Some(JOB_TITLES[(rng.next_u64() % JOB_TITLES.len() as u64) as usize].into()),
            employment_status: Some(if status == "ENABLED" { "Active" } else { "Terminated" }.into()),
            employment_type: Some(if rng.unit() < 0.9 { "Full-time" } else { "Contractor" }.into()),
            usernames: Some(vec![format!("{}{last_ascii}{i}", first_ascii.chars().next().unwrap_or('x'))]),
            employee_ids: Some(vec![format!("E{i:08}")]),
            ..UserInput::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_unique_and_skewed() {
        let a: Vec<_> = Users::new(7).take(2000).collect();
        let b: Vec<_> = Users::new(7).take(2000).collect();
        assert_eq!(
            a.iter().map(|u| u.email.clone()).collect::<Vec<_>>(),
            b.iter().map(|u| u.email.clone()).collect::<Vec<_>>()
        );
        let emails: std::collections::HashSet<_> = a.iter().map(|u| u.email.clone().unwrap()).collect();
        assert_eq!(emails.len(), 2000);
        let count = |name: &str| {
            a.iter().filter(|u| u.display_name.as_deref().unwrap().starts_with(&format!("{name} "))).count()
        };
        assert!(count("John") > 5 * count("Gregg").max(1), "John {} vs Gregg {}", count("John"), count("Gregg"));
    }

    #[test]
    fn folds_accents() {
        assert_eq!(ascii_fold("Zoë"), "zoe");
        assert_eq!(ascii_fold("Østergaard"), "ostergaard");
        assert_eq!(ascii_fold("Łukasz"), "lukasz");
    }
}
