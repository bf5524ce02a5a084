"""The web app's helpers: app.py wires them to the page; the library (sdweb) does the codec work.

``settings`` reads the SDWEB_* environment, ``inputs`` checks what a user sent, ``status`` says what this machine
can run, ``runs`` writes each request's files, ``views`` turns a run into what the page shows, and ``static``
holds the HTML, CSS, JS and text under ``assets/``. This folder sits next to app.py and is imported from there
(``python app.py`` and a Hugging Face Space both run from the repository root); it is not part of the sdweb package.
"""
