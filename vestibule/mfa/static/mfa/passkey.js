// Passkeys (mfa/webauthn.py): a form asks the browser for a passkey, then posts its answer.
// No inline script (the CSP forbids it): pages include this file and mark their form up.
//
//   <form method="post" action="(the view that checks the answer)"
//         data-passkey-register          navigator.credentials.create(): add a passkey
//      or data-passkey-sign-in           navigator.credentials.get(): sign in with one
//         data-options-url="(URL)">      POSTed to (with the form's CSRF token); answers the
//                                        options as JSON, e.g. webauthn.registration_options()
//     {% csrf_token %}
//     <input type="hidden" name="credential">   filled with the browser's answer (JSON)
//     <button data-passkey-button>              starts it; the form's submit does too
//     <p data-passkey-error hidden>…</p>        shown when it fails or the person cancels
//     <p data-passkey-unsupported hidden>…</p>  shown, and the button disabled, in a browser
//   </form>                                     without passkeys
//
// Once the answer is in the hidden field, the form is submitted as any form is: the server
// checks it and answers with a page. Without JavaScript nothing happens, and the page's
// other methods (a code) remain.
(() => {
  const toBytes = (base64url) => {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  };

  const toBase64url = (buffer) => {
    const binary = String.fromCharCode(...new Uint8Array(buffer));
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  const descriptors = (list) => (list || []).map((item) => ({ ...item, id: toBytes(item.id) }));

  // py_webauthn's JSON options (byte strings in base64url) to what the browser takes.
  const creationOptions = (json) => ({
    ...json,
    challenge: toBytes(json.challenge),
    user: { ...json.user, id: toBytes(json.user.id) },
    excludeCredentials: descriptors(json.excludeCredentials),
  });

  const requestOptions = (json) => ({
    ...json,
    challenge: toBytes(json.challenge),
    allowCredentials: descriptors(json.allowCredentials),
  });

  // The browser's answer as the JSON py_webauthn parses (WebAuthn level 3's toJSON()).
  const answer = (credential) => {
    const response = credential.response;
    const json = {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      clientExtensionResults: credential.getClientExtensionResults(),
      response: { clientDataJSON: toBase64url(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      json.response.attestationObject = toBase64url(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = toBase64url(response.authenticatorData);
      json.response.signature = toBase64url(response.signature);
      if (response.userHandle) json.response.userHandle = toBase64url(response.userHandle);
    }
    return JSON.stringify(json);
  };

  const options = async (form) => {
    const token = form.querySelector("input[name=csrfmiddlewaretoken]");
    const reply = await fetch(form.dataset.optionsUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": token ? token.value : "", Accept: "application/json" },
    });
    if (!reply.ok) throw new Error(`options: HTTP ${reply.status}`);
    const json = await reply.json();
    return json.publicKey || json;
  };

  const start = async (form) => {
    const register = form.hasAttribute("data-passkey-register");
    const error = form.querySelector("[data-passkey-error]");
    const buttons = form.querySelectorAll("[data-passkey-button]");
    if (error) error.hidden = true;
    buttons.forEach((button) => (button.disabled = true));
    try {
      const json = await options(form);
      const credential = register
        ? await navigator.credentials.create({ publicKey: creationOptions(json) })
        : await navigator.credentials.get({ publicKey: requestOptions(json) });
      form.querySelector("input[name=credential]").value = answer(credential);
      form.submit();
    } catch (failure) {
      // Cancelled, timed out, or no passkey for this site: the page says so and stays.
      if (error) error.hidden = false;
      buttons.forEach((button) => (button.disabled = false));
      console.info("passkey:", failure.name || "", failure.message || failure);
    }
  };

  document.querySelectorAll("form[data-passkey-register], form[data-passkey-sign-in]").forEach(
    (form) => {
      if (!window.PublicKeyCredential || !navigator.credentials) {
        const note = form.querySelector("[data-passkey-unsupported]");
        if (note) note.hidden = false;
        form.querySelectorAll("[data-passkey-button]").forEach((b) => (b.disabled = true));
        return;
      }
      form.querySelectorAll("[data-passkey-button]").forEach((button) =>
        button.addEventListener("click", (event) => {
          event.preventDefault();
          if (form.reportValidity()) start(form);
        }),
      );
      form.addEventListener("submit", (event) => {
        // A submit without an answer yet (Enter in the name field) starts the ceremony;
        // other submit buttons (« Use another method ») go through untouched.
        const other = event.submitter && !event.submitter.hasAttribute("data-passkey-button");
        if (other || form.querySelector("input[name=credential]").value) return;
        event.preventDefault();
        start(form);
      });
    },
  );
})();
