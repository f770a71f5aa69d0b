"""Application API endpoints (``/api/application/...``), one module per controller group of
pterodactyl/panel v1.11.8 app/Http/Controllers/Api/Application/."""
