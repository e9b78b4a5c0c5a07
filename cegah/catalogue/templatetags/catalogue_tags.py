from typing import Any

from django import template
from django.template import Context

from cegah.areas.models import Area
from cegah.catalogue import vocab

register = template.Library()


@register.inclusion_tag("catalogue/_area_recommendations.html", takes_context=True)
def area_recommendations(context: Context, area: Area,
                         risk: dict[str, Any] | None = None) -> dict[str, Any]:
    """The interventions recommended for an area, with reasons
    (:func:`cegah.catalogue.recommend.area_recommendations`)."""
    from cegah.catalogue.recommend import area_recommendations as recommend_for_area

    request = context.get("request")
    user = getattr(request, "user", None)
    result = recommend_for_area(user, area, risk) if user is not None else None
    return {"area": area, "result": result,
            "recommendations": result.items if result else [], "request": request}


@register.filter
def vocab_label(value: str, field: str) -> str:
    """``{{ value|vocab_label:"settings" }}``: a vocabulary value in plain words."""
    return vocab.label(field, value)
