//! A tenant's settings for its people: the organisation's display name, logo and accent colour on every
//! page and email, and which profile fields users may edit themselves. An onramp extension (ConductorOne
//! has no such object), kept one row per tenant.
//!
//! Rules kept here, pure and tested:
//! - the accent is `#rrggbb`; the text colour on it is chosen automatically, white unless white falls
//!   below WCAG AA's 4.5:1 on it, then black, so every accent is usable and no contrast is ever short
//!   (the two contrasts multiply to 21, so one of them is at least 4.58);
//! - a logo is a PNG, JPEG or WebP image recognised by its first bytes (never by a declared type, and never
//!   SVG, which can carry script), at most [`MAX_LOGO_BYTES`];
//! - user-editable fields are among [`EDITABLE_FIELDS`] (the manager is never one: it decides who approves).

use crate::Timestamp;

/// The largest logo kept, in bytes.
pub const MAX_LOGO_BYTES: usize = 256 * 1024;

/// The longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 256;

/// The profile fields a tenant may let its users edit themselves, by their wire names.
pub const EDITABLE_FIELDS: [&str; 4] = ["displayName", "jobTitle", "department", "employmentType"];

/// The text colours an accent may get.
const WHITE: &str = "#ffffff";
const BLACK: &str = "#000000";

/// The contrast the text on an accent must have (WCAG AA, normal text).
pub const MIN_CONTRAST: f64 = 4.5;

/// A tenant's settings as stored. Empty strings and `None` mean "not set": the pages use the tenant's name
/// and onramp's own accent then.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TenantSettings {
    pub tenant_id: crate::Id,
    pub display_name: String,
    /// `#rrggbb` in lowercase, or empty.
    pub accent_color: String,
    pub logo: Option<Logo>,
    pub user_editable_fields: Vec<String>,
    /// Whether the admin console opens only to admins who sign in with a second factor (TOTP).
    pub console_requires_second_factor: bool,
    /// None until the settings are first written.
    pub updated_at: Option<Timestamp>,
}

impl TenantSettings {
    pub fn defaults(tenant_id: crate::Id) -> TenantSettings {
        TenantSettings {
            tenant_id,
            display_name: String::new(),
            accent_color: String::new(),
            logo: None,
            user_editable_fields: Vec::new(),
            console_requires_second_factor: false,
            updated_at: None,
        }
    }

    /// The settings with `update` applied (omitted fields unchanged).
    pub fn apply(&self, update: &TenantSettingsUpdate) -> TenantSettings {
        let mut after = self.clone();
        if let Some(name) = &update.display_name {
            after.display_name = name.clone();
        }
        if let Some(accent) = &update.accent_color {
            after.accent_color = accent.clone();
        }
        if let Some(logo) = &update.logo {
            after.logo = logo.clone();
        }
        if let Some(fields) = &update.user_editable_fields {
            after.user_editable_fields = fields.clone();
        }
        if let Some(required) = update.console_requires_second_factor {
            after.console_requires_second_factor = required;
        }
        after
    }

    /// Whether two settings hold the same values (the time of the last write aside).
    pub fn same_content(&self, other: &TenantSettings) -> bool {
        TenantSettings { updated_at: None, ..self.clone() } == TenantSettings { updated_at: None, ..other.clone() }
    }
}

/// A change of settings: `None` leaves a field as it is; `Some` replaces it (`Some("")`, `Some(None)` and
/// `Some(vec![])` clear it). Every value is validated before it gets here.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TenantSettingsUpdate {
    pub display_name: Option<String>,
    pub accent_color: Option<String>,
    pub logo: Option<Option<Logo>>,
    pub user_editable_fields: Option<Vec<String>>,
    pub console_requires_second_factor: Option<bool>,
}

/// A logo image, its type found from its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Logo {
    pub image_type: ImageType,
    pub bytes: Vec<u8>,
    /// Lowercase hex SHA-256 of the bytes, which names the logo's URL.
    pub sha256: String,
}

impl std::fmt::Debug for Logo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Logo({:?}, {} bytes, {})", self.image_type, self.bytes.len(), self.sha256)
    }
}

/// The image types a logo may be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageType {
    Png,
    Jpeg,
    Webp,
}

impl ImageType {
    pub const fn content_type(self) -> &'static str {
        match self {
            ImageType::Png => "image/png",
            ImageType::Jpeg => "image/jpeg",
            ImageType::Webp => "image/webp",
        }
    }

    pub const fn extension(self) -> &'static str {
        match self {
            ImageType::Png => "png",
            ImageType::Jpeg => "jpg",
            ImageType::Webp => "webp",
        }
    }

    pub fn from_content_type(content_type: &str) -> Option<ImageType> {
        [ImageType::Png, ImageType::Jpeg, ImageType::Webp]
            .into_iter()
            .find(|image_type| image_type.content_type() == content_type)
    }

    /// The type of an image by its first bytes (its signature), if it is one of ours.
    pub fn sniff(bytes: &[u8]) -> Option<ImageType> {
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(ImageType::Png)
        } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
            Some(ImageType::Jpeg)
        } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            Some(ImageType::Webp)
        } else {
            None
        }
    }
}

impl Logo {
    /// A logo from uploaded bytes, `declared` being the type the client named, if any. `sha256` is the hex
    /// digest of the bytes, computed by the caller (the domain has no hashing).
    pub fn from_upload(bytes: Vec<u8>, declared: Option<&str>, sha256: String) -> Result<Logo, String> {
        if bytes.is_empty() {
            return Err("is empty".into());
        }
        if bytes.len() > MAX_LOGO_BYTES {
            return Err(format!("is {} bytes; a logo may be at most {MAX_LOGO_BYTES} bytes", bytes.len()));
        }
        let Some(image_type) = ImageType::sniff(&bytes) else {
            return Err("must be a PNG, JPEG or WebP image (SVG and other formats are not accepted)".into());
        };
        if let Some(declared) = declared.filter(|declared| !declared.is_empty())
            && declared != image_type.content_type()
        {
            return Err(format!("is declared {declared:?} but the image is {}", image_type.content_type()));
        }
        Ok(Logo { image_type, bytes, sha256 })
    }
}

/// An accent colour and the text colour that reads on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accent {
    /// `#rrggbb`, lowercase.
    pub color: String,
    /// `#ffffff` or `#000000`.
    pub text: &'static str,
}

impl Accent {
    /// Parses `#rrggbb` (either case) and picks its text colour.
    pub fn parse(value: &str) -> Result<Accent, String> {
        let Some(rgb) = parse_hex(value) else {
            return Err(format!("{value:?} is not a colour written #rrggbb, such as #1a56b8"));
        };
        let white = contrast(rgb, [255, 255, 255]);
        let text = if white >= MIN_CONTRAST { WHITE } else { BLACK };
        Ok(Accent { color: value.to_ascii_lowercase(), text })
    }

    /// The contrast between the accent and its text colour.
    pub fn contrast(&self) -> f64 {
        contrast(parse_hex(&self.color).expect("parsed"), parse_hex(self.text).expect("a constant"))
    }
}

fn parse_hex(value: &str) -> Option<[u8; 3]> {
    let hex = value.strip_prefix('#')?;
    if hex.len() != 6 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let byte = |at: usize| u8::from_str_radix(&hex[at..at + 2], 16).ok();
    Some([byte(0)?, byte(2)?, byte(4)?])
}

/// WCAG 2's relative luminance of an sRGB colour.
fn luminance([r, g, b]: [u8; 3]) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

/// WCAG 2's contrast ratio of two colours, from 1 to 21.
pub fn contrast(a: [u8; 3], b: [u8; 3]) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (light, dark) = if la > lb { (la, lb) } else { (lb, la) };
    (light + 0.05) / (dark + 0.05)
}

/// Checks a list of user-editable fields: each one of [`EDITABLE_FIELDS`], none twice.
pub fn check_editable_fields(fields: &[String]) -> Result<(), String> {
    for (index, field) in fields.iter().enumerate() {
        if !EDITABLE_FIELDS.contains(&field.as_str()) {
            return Err(format!("{field:?} is not one of {}", EDITABLE_FIELDS.join(", ")));
        }
        if fields[..index].contains(field) {
            return Err(format!("{field:?} is named twice"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accents_get_a_readable_text_colour() {
        let dark = Accent::parse("#1A56B8").unwrap();
        assert_eq!((dark.color.as_str(), dark.text), ("#1a56b8", "#ffffff"));
        let light = Accent::parse("#ffd200").unwrap();
        assert_eq!(light.text, "#000000");
        assert!(light.contrast() >= MIN_CONTRAST);
        for bad in ["1a56b8", "#1a56b", "#1a56b8f", "#gggggg", "", "red", "#１２３４５６"] {
            assert!(Accent::parse(bad).is_err(), "{bad:?}");
        }
        assert!((contrast([0, 0, 0], [255, 255, 255]) - 21.0).abs() < 1e-9);
    }

    proptest! {
        #[test]
        fn every_accent_reads_at_aa(r in any::<u8>(), g in any::<u8>(), b in any::<u8>()) {
            let accent = Accent::parse(&format!("#{r:02x}{g:02x}{b:02x}")).unwrap();
            prop_assert!(accent.contrast() >= MIN_CONTRAST, "{accent:?}: {}", accent.contrast());
        }
    }

    #[test]
    fn logos_are_known_images_by_their_bytes() {
        let png = b"\x89PNG\r\n\x1a\n rest".to_vec();
        assert_eq!(Logo::from_upload(png.clone(), None, "h".into()).unwrap().image_type, ImageType::Png);
        assert_eq!(Logo::from_upload(png.clone(), Some("image/png"), "h".into()).unwrap().image_type, ImageType::Png);
        assert!(Logo::from_upload(png, Some("image/jpeg"), "h".into()).unwrap_err().contains("declared"));
        let jpeg = vec![0xff, 0xd8, 0xff, 0xe0, 0, 0];
        assert_eq!(ImageType::sniff(&jpeg), Some(ImageType::Jpeg));
        assert_eq!(ImageType::sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some(ImageType::Webp));
        let svg = b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec();
        assert!(Logo::from_upload(svg, Some("image/svg+xml"), "h".into()).unwrap_err().contains("SVG"));
        let big = [b"\x89PNG\r\n\x1a\n".to_vec(), vec![0; MAX_LOGO_BYTES]].concat();
        assert!(Logo::from_upload(big, None, "h".into()).unwrap_err().contains("at most"));
        assert!(Logo::from_upload(Vec::new(), None, "h".into()).is_err());
    }

    #[test]
    fn editable_fields_are_known_and_named_once() {
        assert!(check_editable_fields(&["jobTitle".into(), "department".into()]).is_ok());
        assert!(check_editable_fields(&["managerIds".into()]).unwrap_err().contains("not one of"));
        assert!(check_editable_fields(&["jobTitle".into(), "jobTitle".into()]).unwrap_err().contains("twice"));
    }

    #[test]
    fn an_update_changes_only_what_it_names() {
        let before = TenantSettings { display_name: "Acme".into(), ..TenantSettings::defaults(crate::Id::new()) };
        let update = TenantSettingsUpdate { accent_color: Some("#000000".into()), ..Default::default() };
        let after = before.apply(&update);
        assert_eq!((after.display_name.as_str(), after.accent_color.as_str()), ("Acme", "#000000"));
        assert!(before.apply(&TenantSettingsUpdate::default()).same_content(&before));
    }
}
