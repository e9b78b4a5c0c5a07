from django import template

register = template.Library()


@register.inclusion_tag("catalogue/_area_recommendations.html", takes_context=True)
def area_recommendations(context, area, risk=None):
    """The interventions recommended for an area (filled by cegah.catalogue.recommend)."""
    return {"area": area, "recommendations": [], "request": context.get("request")}
