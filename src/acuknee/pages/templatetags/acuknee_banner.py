"""``{% safety_banner %}``: the safety banner at the top of every page of a patient
(``acuknee.pages.banner`` chooses its items)."""

from __future__ import annotations

from typing import Any

from django import template

from acuknee.pages.banner import banner_context

register = template.Library()


@register.inclusion_tag("pages/_safety_banner.html", takes_context=True)
def safety_banner(context: template.Context) -> dict[str, Any]:
    return banner_context(context.get("patient"), context.get("request"), context.get("chart"))
