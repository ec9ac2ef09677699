-- SCIM users keep every attribute an identity provider sends (issue #16): the User attributes onramp does
-- not map onto its own columns (nickName, phoneNumbers, addresses, the enterprise costCenter, each email's
-- type and display, ...), as a JSON object, read and written with the user. Only the SCIM API uses it.
ALTER TABLE users ADD COLUMN scim_attributes_json TEXT NOT NULL DEFAULT '{}';
