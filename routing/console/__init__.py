"""The operator console: a server-rendered web UI (Jinja2 templates, plain CSS and a little
JavaScript, SVG charts drawn by routing.console.charts — nothing fetched from a CDN), mounted at
`/` of the routing backend. Login with a console user (routing.console.auth); what a user may see
and do follows the backend's roles. Texts live in the templates and texts.yml.
"""
