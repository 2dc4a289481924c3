"""Users, roles and sign-in; jurisdiction scoping, API tokens and the audit chain come later."""
