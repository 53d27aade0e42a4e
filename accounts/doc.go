// Package accounts keeps kirobar's pool of Kiro accounts: storage, import,
// sign-in, token refresh, selection with failover and cooldowns, and
// "check all".
//
// The HTTP server calls Manager.Acquire and Manager.Release around every
// upstream attempt; the tray, the dashboard and the `kirobar accounts` CLI
// read and change the same accounts through the same Manager. The database
// is the source of truth so a CLI process and a running kirobar can share
// it.
//
// Two jobs live in packages of their own, with no Manager and no
// database: accounts/tokenfile reads the Kiro IDE's and kiro-cli's token
// files and stores and writes refreshed tokens back into a linked file;
// accounts/signin runs the Builder ID, IAM Identity Center, Google and
// GitHub sign-ins. Inside this package each concern has a file named for
// it, its tests beside it:
//
//   - manager.go: the Manager, its options and change notifications;
//     store.go: writes, revisions and the reload that adopts other
//     processes' changes; model.go: the stored Account and its shown
//     status; view.go: what may be shown (tokens masked);
//   - import.go: accounts that come from files (ImportPath) or a pasted
//     token (AddRefreshToken), and the upsert every new account goes
//     through; login.go: Login, which stores what a sign-in yields;
//     renew.go: which sign-in renews an account (Renewal);
//   - acquire.go: choosing an account for a request (Acquire);
//     release.go: handing it back (Release); judge.go: the cooldown judge,
//     what an attempt's outcome does to the account; recover.go: fixing
//     what a refusal says can be fixed (Recover);
//   - refresh.go: single-flight token refresh; schedule.go and run.go: the
//     refresh scheduler and the background loop (Run); linked.go: staying
//     linked to the token file an account came from;
//   - profile.go: the profile, API region and style each account is served
//     with; models.go: the models Kiro offers each account and the pool;
//     check.go: the credit-free check of quota, plan and models;
//   - config.go: the settings of config.toml's accounts section;
//     proxyurl.go: per-account proxies and their masking;
//   - schema.go: the accounts table's versioned migrations; team.go: what a
//     team of instances sharing one PostgreSQL database adds (change
//     notifications, the refresh lock, changes kept through an outage);
//     team_sessions.go: conversations' accounts shared by the team.
package accounts
