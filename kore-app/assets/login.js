// /login: trades an email and password for a token (POST /api/login),
// kept in localStorage until it expires, then goes where the user was headed.
import { saveSession, session } from '/assets/common.js';

// Only a path on this site (never "//host" or "https://...").
function next() {
	const n = new URLSearchParams(location.search).get('next');
	return n && /^\/(?!\/)/.test(n) ? n : '/dashboard';
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
