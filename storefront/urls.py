from django.urls import path

from storefront import server_actions, views

urlpatterns = [
    path("", views.home, name="home"),
    path("games/<slug:game_slug>", views.game_detail, name="game"),
    path("buy/<slug:plan_slug>", views.buy, name="buy"),
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
]
