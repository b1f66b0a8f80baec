"""The corpora `data fetch` knows: where each comes from, its licence and subsets, and published checksums."""

from __future__ import annotations

from dataclasses import dataclass

CORPORA = ("vcc2016", "flickr8k", "librispeech", "tedlium", "nsynth", "urmp")


@dataclass(frozen=True)
class Corpus:
    """Where a corpus comes from and how it may be used. `url` may contain `{subset}`."""

    name: str
    title: str
    url: str
    size: str
    homepage: str
    licence: str
    citation: str
    default_subset: str | None = None  # None: the corpus has no subsets
    subsets: tuple[str, ...] = ()  # the known subset names; empty: any folder name is accepted


LIBRISPEECH_SUBSETS = (
    "dev-clean", "dev-other", "test-clean", "test-other", "train-clean-100", "train-clean-360",
    "train-other-500",
)

CORPUS_INFO: dict[str, Corpus] = {
    "vcc2016": Corpus(
        name="vcc2016",
        title="Voice Conversion Challenge 2016, training data",
        url="https://datashare.ed.ac.uk/bitstream/handle/10283/2211/vcc2016_training.zip",
        size="about 200 MB",
        homepage="https://doi.org/10.7488/ds/1575",
        licence="Creative Commons Attribution 4.0 International (CC BY 4.0)",
        citation=(
            "T. Toda, L.-H. Chen, D. Saito, F. Villavicencio, M. Wester, Z. Wu, J. Yamagishi, "
            "\"The Voice Conversion Challenge 2016\", Proc. Interspeech 2016. DOI 10.7488/ds/1575."
        ),
    ),
    "flickr8k": Corpus(
        name="flickr8k",
        title="Flickr 8k Audio Caption Corpus",
        url="https://groups.csail.mit.edu/sls/downloads/flickraudio/downloads/flickr_audio.tar.gz",
        size="about 4.2 GB",
        homepage="https://groups.csail.mit.edu/sls/downloads/flickraudio/",
        licence="Creative Commons Attribution-ShareAlike (CC BY-SA)",
        citation=(
            "D. Harwath and J. Glass, \"Deep Multimodal Semantic Embeddings for Speech and Images\", "
            "IEEE ASRU 2015; and M. Hodosh, P. Young, J. Hockenmaier, \"Framing Image Description as a "
            "Ranking Task: Data, Models and Evaluation Metrics\", JAIR 47, 2013."
        ),
    ),
    "librispeech": Corpus(
        name="librispeech",
        title="LibriSpeech ASR corpus",
        url="https://www.openslr.org/resources/12/{subset}.tar.gz",
        size="0.3 GB (dev-clean) to 30 GB (train-other-500)",
        homepage="https://www.openslr.org/12",
        licence="Creative Commons Attribution 4.0 International (CC BY 4.0)",
        citation=(
            "V. Panayotov, G. Chen, D. Povey, S. Khudanpur, \"Librispeech: an ASR corpus based on "
            "public domain audio books\", Proc. ICASSP 2015."
        ),
        default_subset="dev-clean",
        subsets=LIBRISPEECH_SUBSETS,
    ),
    "tedlium": Corpus(
        name="tedlium",
        title="TED-LIUM release 3",
        url="https://www.openslr.org/resources/51/TEDLIUM_release-3.tgz",
        size="about 51 GB",
        homepage="https://www.openslr.org/51",
        licence="Creative Commons Attribution-NonCommercial-NoDerivs 3.0 (CC BY-NC-ND 3.0)",
        citation=(
            "F. Hernandez, V. Nguyen, S. Ghannay, N. Tomashenko, Y. Estève, \"TED-LIUM 3: twice as "
            "much data and corpus repartition for experiments on speaker adaptation\", SPECOM 2018."
        ),
        # "data" holds every talk once; "legacy/dev", "speaker-adaptation/test", … are the releases'
        # own splits (the same talks may appear in several).
        default_subset="data",
    ),
    # Instruments (see nsynth.py, urmp.py): a "speaker" is an instrument (group).
    "nsynth": Corpus(
        name="nsynth",
        title="NSynth: 4-second musical notes of 1,006 instruments",
        url="http://download.magenta.tensorflow.org/datasets/nsynth/nsynth-{subset}.jsonwav.tar.gz",
        size="about 0.3 GB (test), 1.1 GB (valid), 22 GB (train)",
        homepage="https://magenta.tensorflow.org/datasets/nsynth",
        licence="Creative Commons Attribution 4.0 International (CC BY 4.0)",
        citation=(
            "J. Engel, C. Resnick, A. Roberts, S. Dieleman, D. Eck, K. Simonyan, M. Norouzi, \"Neural Audio "
            "Synthesis of Musical Notes with WaveNet Autoencoders\", ICML 2017."
        ),
        default_subset="test",
        subsets=("test", "valid", "train"),
    ),
    "urmp": Corpus(
        name="urmp",
        title="URMP: University of Rochester Multi-Modal Music Performance dataset (separated stems)",
        # Distributed after a request form: download URMP.zip from the homepage and pass --source.
        url="https://labsites.rochester.edu/air/projects/URMP.html",
        size="about 12.5 GB",
        homepage="https://labsites.rochester.edu/air/projects/URMP.html",
        licence="Creative Commons Attribution-NonCommercial-ShareAlike 4.0 (CC BY-NC-SA 4.0)",
        citation=(
            "B. Li, X. Liu, K. Dinesh, Z. Duan, G. Sharma, \"Creating a Multitrack Classical Music Performance "
            "Dataset for Multimodal Music Analysis: Challenges, Insights, and Applications\", IEEE TMM 21(2), 2019."
        ),
    ),
}


@dataclass(frozen=True)
class Checksum:
    algorithm: str  # "sha256" or "md5"
    value: str
    published_by: str


# Keyed by file name, so a mirror serving the same archive is checked too. Archives not listed here
# (vcc2016_training.zip: DataShare publishes no checksum we could confirm) are not verified against a
# published value; their computed sha256 is recorded in corpus.json so that later copies can be.
KNOWN_CHECKSUMS: dict[str, Checksum] = {
    **{
        f"{name}.tar.gz": Checksum("sha256", value, "torchaudio.datasets.LIBRISPEECH (openslr.org lists md5 only)")
        for name, value in {
            "dev-clean": "76f87d090650617fca0cac8f88b9416e0ebf80350acb97b343a85fa903728ab3",
            "dev-other": "12661c48e8c3fe1de2c1caa4c3e135193bfb1811584f11f569dd12645aa84365",
            "test-clean": "39fde525e59672dc6d1551919b1478f724438a95aa55f874b576be21967e6c23",
            "test-other": "d09c181bba5cf717b3dee7d4d592af11a3ee3a09e08ae025c5506f6ebe961c29",
            "train-clean-100": "d4ddd1d5a6ab303066f14971d768ee43278a5f2a0aa43dc716b0e64ecbbbf6e2",
            "train-clean-360": "146a56496217e96c14334a160df97fffedd6e0a04e66b9c5af0d40be3c792ecf",
            "train-other-500": "ddb22f27f96ec163645d53215559df6aa36515f26e01dd70798188350adcb6d2",
        }.items()
    },
    "TEDLIUM_release-3.tgz": Checksum(
        "sha256", "ad1e454d14d1ad550bc2564c462d87c7a7ec83d4dc2b9210f22ab4973b9eccdb",
        "torchaudio.datasets.TEDLIUM",
    ),
    "flickr_audio.tar.gz": Checksum(
        "md5", "9d078f1f150c26e864aa64d1d733779a", "the corpus page, groups.csail.mit.edu/sls/downloads/flickraudio",
    ),
}
