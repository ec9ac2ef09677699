//! The model of a form on a page: its fields ([`Field`], rendered by the `field` macro of
//! `components.html`: label, hint, error, input) and what went wrong on a submit ([`FormErrors`], rendered
//! by `error_summary` at the top of the page, each entry linking to its field).
//!
//! A field with an error is marked `aria-invalid="true"`, and `aria-describedby` names its hint and its
//! error, so a screen reader reads them with the field. A refused form comes back with what was typed,
//! never with a password.

use onramp_core::error::{Code, CoreError};

/// One input of a form.
#[derive(Clone, Debug, Default)]
pub struct Field {
    /// The element id: unique in the page, the target of the error summary's link.
    pub id: String,
    /// The form field's name, as the handler reads it.
    pub name: String,
    pub label: String,
    /// Said under the label, before the person types.
    pub hint: Option<String>,
    /// What was wrong with the last submit.
    pub error: Option<String>,
    /// The input's `type`: text, email, password...
    pub input_type: &'static str,
    pub value: String,
    pub autocomplete: Option<&'static str>,
    pub inputmode: Option<&'static str>,
    pub required: bool,
    pub minlength: Option<usize>,
    pub maxlength: Option<usize>,
}

impl Field {
    /// A text field named `name` whose element id is `name` too.
    pub fn text(name: &str, label: &str) -> Field {
        Field { id: name.into(), name: name.into(), label: label.into(), input_type: "text", ..Field::default() }
    }

    pub fn of_type(mut self, input_type: &'static str) -> Field {
        self.input_type = input_type;
        self
    }

    pub fn id(mut self, id: impl Into<String>) -> Field {
        self.id = id.into();
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Field {
        self.hint = Some(hint.into());
        self
    }

    pub fn value(mut self, value: impl Into<String>) -> Field {
        self.value = value.into();
        self
    }

    pub fn autocomplete(mut self, autocomplete: &'static str) -> Field {
        self.autocomplete = Some(autocomplete);
        self
    }

    pub fn required(mut self) -> Field {
        self.required = true;
        self
    }

    pub fn length(mut self, min: Option<usize>, max: usize) -> Field {
        self.minlength = min;
        self.maxlength = Some(max);
        self
    }

    /// The field with its error from `errors`, if there is one.
    pub fn checked(mut self, errors: &FormErrors) -> Field {
        self.error = errors.message(&self.id).map(str::to_string);
        self
    }

    /// The ids `aria-describedby` names: the hint's and the error's, those there are.
    pub fn described_by(&self) -> String {
        let mut ids = Vec::new();
        if self.hint.is_some() {
            ids.push(format!("{}-hint", self.id));
        }
        if self.error.is_some() {
            ids.push(format!("{}-error", self.id));
        }
        ids.join(" ")
    }
}

/// A new password: the rule said before typing, the field and its confirmation, and a show/hide toggle
/// (which the script adds; without it both stay hidden text).
#[derive(Clone, Debug)]
pub struct NewPassword {
    pub password: Field,
    pub confirm: Field,
}

/// The form field of a new password's confirmation.
pub const CONFIRM_FIELD: &str = "passwordConfirm";

impl NewPassword {
    /// The pair for the form field `password` with its `rule` (`12 characters or more`).
    pub fn new(rule: &str, min: usize, max: usize, errors: &FormErrors) -> NewPassword {
        let password = Field::text("password", "Password")
            .of_type("password")
            .hint(rule)
            .autocomplete("new-password")
            .required()
            .length(Some(min), max)
            .checked(errors);
        let confirm = Field::text(CONFIRM_FIELD, "Confirm your password")
            .of_type("password")
            .hint("Type the same password again.")
            .autocomplete("new-password")
            .required()
            .length(Some(min), max)
            .checked(errors);
        NewPassword { password, confirm }
    }

    /// The ids the toggle shows and hides.
    pub fn controls(&self) -> String {
        format!("{} {}", self.password.id, self.confirm.id)
    }
}

/// Whether a confirmation matches its password. A submit without the confirmation (a script posting the
/// form, not a person) has nothing to mistype and is not checked; a person's browser always sends it.
pub fn confirmation_matches(password: &str, confirm: Option<&str>) -> bool {
    confirm.is_none_or(|confirm| confirm == password)
}

/// One entry of the error summary: the field's element id and the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    pub id: String,
    pub message: String,
}

/// What was wrong with a submitted form, field by field.
#[derive(Clone, Debug, Default)]
pub struct FormErrors {
    pub list: Vec<FieldError>,
}

impl FormErrors {
    pub fn none() -> FormErrors {
        FormErrors::default()
    }

    pub fn add(&mut self, id: impl Into<String>, message: impl Into<String>) {
        self.list.push(FieldError { id: id.into(), message: message.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The first message for the field with element id `id`.
    pub fn message(&self, id: &str) -> Option<&str> {
        self.list.iter().find(|error| error.id == id).map(|error| error.message.as_str())
    }

    /// The errors of a refusal by the core. `fields` maps the names the core uses (`displayName`) to the
    /// form's element ids and labels; a bad value of one of them is that field's error, in the person's
    /// words ("Password: must be 12 to 1024 characters"); anything else goes on `fallback`, the field the
    /// summary should lead to.
    pub fn from_core(error: &CoreError, fields: &[(&str, &str, &str)], fallback: &str) -> FormErrors {
        let mut errors = FormErrors::none();
        let named = (error.code == Code::InvalidArgument).then(|| bad_field(error)).flatten();
        match named.and_then(|(field, description)| {
            fields.iter().find(|(name, ..)| *name == field).map(|(_, id, label)| (id, label, description))
        }) {
            Some((id, label, description)) => errors.add(*id, format!("{label}: {description}")),
            None => errors.add(fallback, capitalised(&error.message)),
        }
        errors
    }
}

/// The field and description of a `google.rpc.BadRequest` detail.
fn bad_field(error: &CoreError) -> Option<(String, String)> {
    error.details.iter().find_map(|detail| {
        let violation = detail.get("fieldViolations")?.get(0)?;
        Some((violation.get("field")?.as_str()?.to_string(), violation.get("description")?.as_str()?.to_string()))
    })
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_refusal_naming_a_field_is_that_fields_error() {
        let error = CoreError::invalid_field("password", "must be 12 to 1024 characters");
        let fields = [("displayName", "displayName", "Name"), ("password", "password", "Password")];
        let errors = FormErrors::from_core(&error, &fields, "displayName");
        assert_eq!(errors.message("password"), Some("Password: must be 12 to 1024 characters"));
        assert_eq!(errors.message("displayName"), None);
        let other = CoreError::new(Code::FailedPrecondition, "the onboard is completed");
        let errors = FormErrors::from_core(&other, &fields, "displayName");
        assert_eq!(
            errors.list,
            vec![FieldError { id: "displayName".into(), message: "The onboard is completed".into() }]
        );
    }

    #[test]
    fn a_field_is_described_by_its_hint_and_error() {
        let mut errors = FormErrors::none();
        errors.add("name", "Enter your name");
        let field = Field::text("name", "Name").hint("As others will see it").checked(&errors);
        assert_eq!(field.described_by(), "name-hint name-error");
        assert_eq!(Field::text("x", "X").described_by(), "");
    }

    #[test]
    fn a_confirmation_is_checked_when_sent() {
        assert!(confirmation_matches("a long password", Some("a long password")));
        assert!(!confirmation_matches("a long password", Some("a long passwore")));
        assert!(confirmation_matches("a long password", None));
    }
}
