//! `userlist` sections. hakeeper uses them for one thing, the stats page's basic auth
//! (`stats http-request auth unless { http_auth(LIST) }`); the users are resolved once the whole
//! file is read, since the userlist may come after the stats section.

use super::section::directive;
use super::Ctx;

#[derive(Debug, Clone, PartialEq)]
pub enum Password {
    /// `insecure-password`: usable as it is.
    Plain(String),
    /// `password HASH`: a crypt(3) hash, which the stats page cannot check.
    Hashed,
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: String,
    pub line: usize,
    pub password: Password,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Userlist {
    pub name: String,
    pub line: usize,
    pub users: Vec<User>,
}

/// A line inside `userlist NAME`.
pub fn keyword(ctx: &mut Ctx, list: &mut Userlist, n: usize, words: &[String]) {
    let what = directive(words);
    match words {
        [kw, name, rest @ ..] if kw == "user" => {
            let (password, rest) = match rest {
                [p, value, tail @ ..] if p == "insecure-password" => (Password::Plain(value.clone()), tail),
                [p, _, tail @ ..] if p == "password" => (Password::Hashed, tail),
                _ => {
                    ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: a user without a password; not translated"));
                    return;
                }
            };
            if let [g, _] = rest {
                if g == "groups" {
                    ctx.notes.replaced(&ctx.file, n, format!("`{what}`: groups are not kept: every stats user has the same rights"));
                }
            } else if !rest.is_empty() {
                ctx.notes.untranslated(&ctx.file, n, format!("`{what}`: extra words `{}` not translated", directive(rest)));
            }
            list.users.push(User { name: name.clone(), line: n, password });
        }
        [kw, ..] if kw == "group" => {
            ctx.notes.replaced(&ctx.file, n, format!("`{what}`: groups are not kept: every stats user has the same rights"));
        }
        _ => ctx.notes.untranslated(&ctx.file, n, format!("`{what}` (in userlist {}) not translated", list.name)),
    }
}

/// `{ http_auth(LIST) }` after `unless`, or `!{ http_auth(LIST) }` after `if`: the name of the
/// list whose users may pass.
pub fn auth_condition(cond: &[String]) -> Option<String> {
    let inner = match cond {
        [kw, open, acl, close] if kw == "unless" && open == "{" && close == "}" => acl,
        [kw, open, acl, close] if kw == "if" && open == "!{" && close == "}" => acl,
        [kw, not, open, acl, close] if kw == "if" && not == "!" && open == "{" && close == "}" => acl,
        _ => return None,
    };
    inner.strip_prefix("http_auth(")?.strip_suffix(')').filter(|l| !l.is_empty()).map(str::to_string)
}

/// The `(user, password)` pairs of `list` for the stats page; users with hashed passwords are
/// reported at their line.
pub fn stats_users(ctx: &mut Ctx, list: &Userlist) -> Vec<(String, String)> {
    let mut users = Vec::new();
    for user in &list.users {
        match &user.password {
            Password::Plain(p) => users.push((user.name.clone(), p.clone())),
            Password::Hashed => ctx.notes.untranslated(
                &ctx.file,
                user.line,
                format!(
                    "user {} of userlist {}: hakeeper's stats page cannot check crypt(3) password hashes; not translated (give it an insecure-password or a `stats auth` line)",
                    user.name, list.name
                ),
            ),
        }
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn auth_conditions_name_the_list() {
        assert_eq!(auth_condition(&words("unless { http_auth(admins) }")).as_deref(), Some("admins"));
        assert_eq!(auth_condition(&words("if !{ http_auth(ops) }")).as_deref(), Some("ops"));
        assert_eq!(auth_condition(&words("if ! { http_auth(ops) }")).as_deref(), Some("ops"));
        assert_eq!(auth_condition(&words("if { http_auth(ops) }")), None, "auth only for those who passed is not the same");
        assert_eq!(auth_condition(&words("unless AUTH")), None);
        assert_eq!(auth_condition(&words("unless { http_auth() }")), None);
    }
}
