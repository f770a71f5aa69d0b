from django.urls import path

from storefront import client_area, server_actions, views

urlpatterns = [
    path("", views.home, name="home"),
    path("games/<slug:game_slug>", views.game_detail, name="game"),
    path("buy/<slug:plan_slug>", views.buy, name="buy"),
    path(
        "buy/<slug:plan_slug>/waitlist/<slug:region_slug>",
        views.waitlist_join_view,
        name="waitlist-join",
    ),
    path("dashboard", views.dashboard, name="dashboard"),
    path("orders/<int:order_id>", views.order_detail, name="order"),
    path("orders/<int:order_id>/progress", views.order_progress, name="order-progress"),
    path("orders/<int:order_id>/cancel", views.order_cancelled, name="order-cancelled"),
    path("orders/<int:order_id>/remove", views.pending_remove, name="pending-remove"),
    path(
        "orders/<int:order_id>/actions/<slug:action>",
        server_actions.server_action,
        name="server-action",
    ),
    # The client area (storefront/client_area.py).
    path("dashboard/live", client_area.live_all, name="dashboard-live"),
    path("orders/<int:order_id>/live", client_area.live_one, name="order-live"),
    path("orders/<int:order_id>/power/<slug:signal>", client_area.power, name="server-power"),
    path("orders/<int:order_id>/receipt", client_area.receipt, name="order-receipt"),
    path("billing/portal", client_area.billing_portal, name="billing-portal"),
    path("account/panel-password", client_area.panel_password, name="panel-password"),
]
