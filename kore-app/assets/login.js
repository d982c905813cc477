// /login: trades an email and password for a token (POST /api/login),
// kept in localStorage until it expires, then goes where the user was headed.
import { saveSession, session } from '/assets/common.js';

// Only a path on this site: it must start with one "/", hold no backslash
// or control character (browsers read "/\host" and "/\t/host" as "//host"),
// and resolve to this origin; anything else goes to /dashboard.
function next() {
	const n = new URLSearchParams(location.search).get('next');
	if (!n || !/^\/(?![\/\\])/.test(n) || /[\\\u0000-\u001f\u007f]/.test(n)) return '/dashboard';
	try {
		const u = new URL(n, location.origin);
		if (u.origin === location.origin) return u.pathname + u.search + u.hash;
	} catch (e) { /* not a URL */ }
	return '/dashboard';
}

if (session()) location.replace(next());

const form = document.getElementById('login');
const error = document.getElementById('form-error');

form.addEventListener('submit', async (ev) => {
	ev.preventDefault();
	error.textContent = '';
	const email = form.email.value.trim(), password = form.password.value;
	if (!email || !password) {
		error.textContent = 'Enter your email and password.';
		(email ? form.password : form.email).focus();
		return;
	}
	const button = form.querySelector('button');
	button.disabled = true;
	try {
		const res = await fetch('/api/login', {
			method: 'POST',
			headers: { 'Content-Type': 'application/json' },
			body: JSON.stringify({ email, password }),
		});
		const body = await res.json().catch(() => ({}));
		if (!res.ok) {
			error.textContent = body.message || 'Logging in failed (HTTP ' + res.status + ').';
			form.password.select();
			return;
		}
		saveSession(body);
		location.assign(next());
	} catch (e) {
		error.textContent = 'The server cannot be reached. Try again.';
	} finally {
		button.disabled = false;
	}
});
