"""The indicator catalogue: definitions in YAML (one file per action domain, beside this
module) and the pydantic models that read and check them (``definitions``)."""

from indicators.catalogue.definitions import (
    AGE_GROUPS,
    AdminRatio,
    Catalogue,
    CatalogueError,
    CommutingRatio,
    Domain,
    Indicator,
    LocalisedText,
    MeasureQuantity,
    PopulationQuantity,
    SurveyProportion,
    Target,
    bundled_catalogue_dir,
    load_catalogue,
)

__all__ = [
    "AGE_GROUPS",
    "AdminRatio",
    "Catalogue",
    "CatalogueError",
    "CommutingRatio",
    "Domain",
    "Indicator",
    "LocalisedText",
    "MeasureQuantity",
    "PopulationQuantity",
    "SurveyProportion",
    "Target",
    "bundled_catalogue_dir",
    "load_catalogue",
]
